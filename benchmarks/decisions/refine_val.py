"""Refining the explanation mask on the photo, chosen on the validation splits (docs/refine_val.md).

    .venv/bin/python -m benchmarks.decisions.refine_val [--data-root ../shared/data] [--split val] [--smoke]

Every masked validation photo is explained once with the default model and
settings; each threshold × refinement (``cracklib.mask.refine.REFINEMENTS``) ×
post-processing is then cut from that explanation by the pipeline's own mask
step (``evaluation.evaluate_grid``). Prints and writes dataset-level F1
(summed confusion) with precision and recall, per set and the mean over the sets.
``MaskSettings.refine``'s default comes from this table.

Photos whose ground truth marks more than ``--max-crack-fraction`` of the
pixels are left out: they annotate a region, not crack pixels (CrackForest's
val photos 097 and 101 fill the pavement between the cracks of an alligator
pattern: 33 % and 35 % of the photo, two thirds of the split's crack pixels).
No test photo of these sets is over 8 %.
"""
from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import crack_photo_sets, generated_by, photo_set_decision_args, write_markdown
from cracklib.run import evaluate_grid
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, load_classifier
from cracklib.mask import POSTPROCESSING
from cracklib.mask import REFINEMENTS

THRESHOLDS = ("gmm", "bmm")
POSTS = tuple(POSTPROCESSING)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = photo_set_decision_args(parser, "refine_val.md", argv)
    classifier, config = load_classifier(DEFAULT_WEIGHTS), PipelineConfig()
    combos = [(t, r, p) for t in THRESHOLDS for r in REFINEMENTS for p in POSTS]
    header = ["# Refining the mask on the photo", "",
              generated_by(__spec__.name, f" --split {args.split}", smoke=args.smoke) + " "
              f"{args.split} splits, default model and explanation (LRP {config.explanation.rules}, tiled), photos "
              f"with crack pixels; photos whose truth covers more than {args.max_crack_fraction:.0%} of the photo "
              "are left out (region annotations; the script's docstring names them). F1 of the summed confusion, "
              "precision / recall in brackets.", ""]
    scores, counts = {}, []
    photo_sets = crack_photo_sets(args.data_root, split=args.split, max_fraction=args.max_crack_fraction)
    for name, kept, left_out in photo_sets:
        rows = evaluate_grid(classifier, kept, [config.explanation], list(THRESHOLDS), list(POSTS),
                             mask=config.mask, refinements=list(REFINEMENTS))
        scores[name] = {(row["threshold"], row["refine"], row["post"]): row for row in rows}
        counts.append(f"{name} {rows[0]['n_images']} ({left_out} left out)")
        print(counts[-1], flush=True)
    header += ["Photos: " + ", ".join(counts) + ".", "",
               "| threshold | refinement | post | " + " | ".join(scores) + " | mean F1 |",
               "|---|---|---|" + "---|" * (len(scores) + 1)]
    means = {combo: float(np.mean([scores[name][combo]["f1"] for name in scores])) for combo in combos}
    lines = header[:]
    for combo in combos:
        cells = [f"{row['f1']:.3f} ({row['precision']:.2f} / {row['recall']:.2f})"
                 for row in (scores[name][combo] for name in scores)]
        lines.append("| " + " | ".join(combo) + " | " + " | ".join(cells) + f" | {means[combo]:.3f} |")
        print(lines[-1], flush=True)
    best = max(means, key=means.get)
    lines += ["", f"Best mean F1: threshold `{best[0]}`, refinement `{best[1]}`, post-processing `{best[2]}`: "
                  f"{means[best]:.3f}."]
    print(lines[-1])
    write_markdown(args.out, lines)


if __name__ == "__main__":
    main()
