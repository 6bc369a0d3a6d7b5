# One task runner: the README and .ci/run call these targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-unit test-all lint bench toy-model eval-toy eval-target clean

EVAL_GALLERY ?= $(HOME)/.cache/picseek-eval/toy-4040
TARGET_GALLERY ?= $(HOME)/.cache/picseek-eval/toy-6262

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ray,ocr]'
	touch $(STAMP)

demo: setup  ## offline demo: toy gallery + toy model, then the chat UI in the browser
	$(BIN)/picseek demo

test: setup  ## unit + integration + e2e tests (no network); slow real-architecture tests excluded
	$(BIN)/pytest

test-unit: setup  ## the fast unit tests (no model, no store)
	$(BIN)/pytest -m unit

test-all: setup  ## everything, including real architectures with random weights (minutes)
	$(BIN)/pytest -m ''

lint: setup
	$(BIN)/ruff check agent tools ui evals tests
	$(BIN)/ruff format --check agent tools ui evals tests

bench: setup  ## prints figures and rewrites evals/bench/RESULTS.md
	$(BIN)/python -m picseek.evals.bench.ingest
	$(BIN)/python -m picseek.evals.bench.ray_index
	$(BIN)/python -m picseek.evals.bench.search
	$(BIN)/python -m picseek.evals.bench.agent
	$(BIN)/python -m picseek.evals.bench.dialogue
	$(BIN)/python -m picseek.evals.bench.caption
	$(BIN)/python -m picseek.evals.bench.relevance
	$(BIN)/python -m picseek.evals.bench.load
	$(BIN)/python -m picseek.evals.bench.realmodels
	$(BIN)/python -m picseek.evals.bench.serve --ray

toy-model: setup  ## retrain the bundled toy model (~55 min on 2 CPU cores)
	$(BIN)/python -m picseek.ui.demo.train --out tools/weights/toy-coca.pt

eval-toy: setup  ## the committed toy eval: 200 three-turn dialogues, agent vs baselines -> evals/results/toy
	test -f $(EVAL_GALLERY)/scenes.jsonl || $(BIN)/picseek toy-gallery $(EVAL_GALLERY) --n 1000 --seed 4040
	$(BIN)/picseek index $(EVAL_GALLERY) --model toy --reindex
	rm -rf evals/results/toy
	$(BIN)/picseek eval evals/data/toy-dialogues.jsonl --dir $(EVAL_GALLERY) --model toy \
		--system agent --system concat --system last --out evals/results/toy

eval-target: setup  ## the committed target eval: 200 targets on a held-out 1,500-scene gallery -> evals/results/toy-target
	test -f $(TARGET_GALLERY)/scenes.jsonl || $(BIN)/picseek toy-gallery $(TARGET_GALLERY) --n 1500 --seed 6262
	$(BIN)/picseek index $(TARGET_GALLERY) --model toy --captions
	rm -rf evals/results/toy-target
	$(BIN)/picseek eval evals/data/toy-targets.jsonl --protocol target --dir $(TARGET_GALLERY) --model toy \
		--answers heldout --system agent --system volunteer --system describe --out evals/results/toy-target

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
