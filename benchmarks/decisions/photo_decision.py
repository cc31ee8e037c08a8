"""Calibrates the photo-level decision of tiled mode on the validation splits.

    .venv/bin/python -m benchmarks.decisions.photo_decision [--weights weights/default.pt] [--split val]
        [--data-root ../shared/data] [--out docs/photo_decision_val.md] [--smoke]

Every photo is classified once (every tile, and the whole photo resized); each
rule of :data:`cracklib.pipeline.decision.PHOTO_DECISIONS` then makes the photo's
probability, scored at the gate (0.5): balanced accuracy on sets with both
classes, the true-positive rate on sets of cracked photos only. The rule with
the best mean over the sets is printed as the choice (run on ``val``; report ``test``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import add_data_root, add_smoke, command, smoke_data, smoke_out, write_markdown
from cracklib.io import read_dataset
from cracklib.pipeline import PHOTO_DECISIONS, photo_probability
from cracklib.pipeline import classifier_scores
from cracklib.io import read_image
from cracklib.pipeline import DEFAULT_WEIGHTS, classify_tiles, classify, load_classifier, whole_photo_probability
from cracklib.pipeline import ExplanationSettings

SETS = ["brick_walls", "concrete_ozgenel", "cracksc", "crackforest", "nha12d", "deepcrack", "sut_crack"]


def _score(labels: list[int], probabilities: list[float]) -> tuple[float, str]:
    scores = classifier_scores(labels, probabilities)
    if scores["balanced_accuracy"] is not None:
        return scores["balanced_accuracy"], "bacc"
    return (scores["tpr"], "tpr") if scores["tpr"] is not None else (scores["tnr"], "tnr")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    add_data_root(parser)
    parser.add_argument("--split", default="val")
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--out", default=None, help="markdown file for the table")
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # one set with both classes, one of cracked photos only, tiny and synthetic
        args.data_root = smoke_data(["brick_walls", "deepcrack"], split=args.split, cracked_only=["deepcrack"])
        args.out = smoke_out(args.out, True)
    classifier = load_classifier(args.weights, device="cpu")
    # Tiles only (max_tile needs no resized photo): the resized photo is classified once, below.
    config = ExplanationSettings(decision="max_tile")
    rows, totals = [], {name: [] for name in PHOTO_DECISIONS}
    for name in args.sets:
        folder = Path(args.data_root) / name
        if not folder.is_dir():
            continue
        samples = [s for s in read_dataset(folder, split=args.split) if s.label is not None]
        labels, tiles, whole, resized = [], [], [], []
        for sample in samples:
            image = read_image(sample.image)
            labels.append(sample.label)
            tiles.append(classify_tiles(classifier, image, config)[3])
            resized.append(classify(classifier, image, ExplanationSettings(mode="resize")))
            # As the pipeline: the card's whole-photo model's where it names one, None where a thin crack
            # would not survive the resize.
            whole.append(whole_photo_probability(classifier, image))
        row = {"set": name, "n": len(samples)}
        for decision in PHOTO_DECISIONS:
            probabilities = [photo_probability(t, w, decision=decision) for t, w in zip(tiles, whole)]
            value, kind = _score(labels, probabilities)
            row[decision], row["measure"] = value, kind
            totals[decision].append(value)
        row["resize"] = _score(labels, resized)[0]
        rows.append(row)
        print(json.dumps(row), flush=True)
    means = {d: float(np.mean(v)) for d, v in totals.items()}
    best = max(means, key=means.get)
    made_by = command(__spec__.name, f" --split {args.split}", smoke=args.smoke)
    lines = [f"Photo-level decision, `{args.split}` split, weights `{Path(args.weights).name}`, gate 0.5 "
             f"({made_by}). Balanced accuracy (bacc) on sets with both "
             "classes, true-positive rate (tpr) on sets of cracked photos only.", "",
             "| set | n | measure | " + " | ".join(f"tiled, {d}" for d in PHOTO_DECISIONS) + " | resize |",
             "|---|---|---|" + "---|" * (len(PHOTO_DECISIONS) + 1)]
    for row in rows:
        lines.append(f"| {row['set']} | {row['n']} | {row['measure']} | "
                     + " | ".join(f"{row[d]:.3f}" for d in PHOTO_DECISIONS) + f" | {row['resize']:.3f} |")
    lines.append("| **mean** | | | " + " | ".join(f"**{means[d]:.3f}**" for d in PHOTO_DECISIONS) + " | |")
    lines += ["", f"Best mean: `{best}`."]
    text = "\n".join(lines)
    print(text)
    if args.out:
        write_markdown(args.out, lines)


if __name__ == "__main__":
    main()
