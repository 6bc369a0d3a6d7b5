"""Split the real-caption language set into development and held-out halves.

Usage (from this folder):  python split.py
Reads the combined files all-descriptions.jsonl / all-followups.jsonl / all-answers.json when they exist,
otherwise re-combines the existing *-dev and *-heldout halves, and writes the halves. Because items are put in a
canonical order (sorted by id; answer templates sorted as strings) before a fresh random.Random(2112) shuffles
each list, the split is the same whichever way the combined list was obtained. The first half of each shuffled
list (n // 2 items) is development, the rest held out.
"""

import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 2112


def halves(items):
    items = sorted(items)
    random.Random(SEED).shuffle(items)
    n = len(items) // 2
    return items[:n], items[n:]


def read_jsonl(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def split_jsonl(stem):
    combined = os.path.join(HERE, f"all-{stem}.jsonl")
    if os.path.exists(combined):
        rows = read_jsonl(combined)
    else:
        rows = read_jsonl(os.path.join(HERE, f"{stem}-dev.jsonl")) + read_jsonl(
            os.path.join(HERE, f"{stem}-heldout.jsonl")
        )
    by_id = {r["id"]: r for r in rows}
    assert len(by_id) == len(rows), f"duplicate ids in {stem}"
    dev, held = halves(list(by_id))
    write_jsonl(os.path.join(HERE, f"{stem}-dev.jsonl"), [by_id[i] for i in sorted(dev)])
    write_jsonl(os.path.join(HERE, f"{stem}-heldout.jsonl"), [by_id[i] for i in sorted(held)])
    return len(dev), len(held)


def split_answers():
    combined = os.path.join(HERE, "all-answers.json")
    if os.path.exists(combined):
        with open(combined, encoding="utf-8") as fh:
            allt = json.load(fh)
    else:
        allt = {}
        for part in ("dev", "heldout"):
            with open(os.path.join(HERE, f"answers-{part}.json"), encoding="utf-8") as fh:
                for k, v in json.load(fh).items():
                    allt.setdefault(k, []).extend(v)
    dev, held = {}, {}
    for k in sorted(allt):
        dev[k], held[k] = halves(allt[k])
    for name, d in (("dev", dev), ("heldout", held)):
        with open(os.path.join(HERE, f"answers-{name}.json"), "w", encoding="utf-8") as fh:
            json.dump(d, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
    return {k: (len(dev[k]), len(held[k])) for k in dev}


if __name__ == "__main__":
    print("descriptions", split_jsonl("descriptions"))
    print("followups", split_jsonl("followups"))
    print("answers", split_answers())
