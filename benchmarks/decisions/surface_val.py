"""The refinement's surface cap, chosen on the validation splits (docs/surface_val.md).

    .venv/bin/python -m benchmarks.decisions.surface_val [--data-root ../shared/data] [--split val]
        [--percentiles 100 95 90 85 80 75 70 60] [--smoke]

The darkness the refinement cuts (``cracklib.mask.refine.darkness``) is how much
darker a pixel is than the brightest surface around it; beside a lane marking,
a white stone or glare that "surface" is far brighter than the road, and the
Otsu level fitted on the mask's darkness is pulled up until faint cracks fall
below it. The grey levels are therefore capped at a percentile of the photo's
own (``refine.SURFACE_PERCENTILE``). Every masked validation photo is explained
once with the default model and settings; the pipeline's own mask step
(``pipeline.segment_explanation``, default settings) then cuts it once per cap
(``refine.DarknessMap(photo, surface=surface_level(photo, percentile=...))``).
Dataset-level F1 (summed confusion) per set and the mean over the sets; the
photos are those of docs/refine_val.md (region annotations left out).
"""
from __future__ import annotations

import argparse
import numpy as np

from benchmarks.common import crack_photo_sets, generated_by, photo_set_decision_args, write_markdown
from cracklib.io import read_sample
from cracklib.measure import Confusion, confusion
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, explain, load_classifier, segment_explanation
from cracklib.mask import SURFACE_PERCENTILE, DarknessMap, surface_level


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--percentiles", type=float, nargs="+", default=[100, 95, 90, 85, 80, 75, 70, 60])
    args = photo_set_decision_args(parser, "surface_val.md", argv)
    classifier, config = load_classifier(DEFAULT_WEIGHTS), PipelineConfig()
    f1, counts = {}, []
    for name, kept, left_out in crack_photo_sets(args.data_root, split=args.split,
                                                 max_fraction=args.max_crack_fraction):
        totals = {p: Confusion() for p in args.percentiles}
        for sample in kept:
            image, truth = read_sample(sample)
            explanation = explain(classifier, image, config.explanation)
            for percentile in args.percentiles:
                darkness = DarknessMap(image, surface=surface_level(image, percentile=percentile))
                mask = segment_explanation(explanation, config.mask, photo=image, darkness=darkness).mask
                totals[percentile] += confusion(mask, truth)
        f1[name] = {p: totals[p].f1 for p in args.percentiles}
        counts.append(f"{name} {len(kept)} ({left_out} left out)")
        print(counts[-1], f1[name], flush=True)
    lines = ["# The refinement's surface cap", "",
             generated_by(__spec__.name, f" --split {args.split}", smoke=args.smoke) + " "
             f"{args.split} splits, default model, explanation and mask step (LRP {config.explanation.rules}, "
             f"tiled, {config.mask.threshold}, {config.mask.refine}, {config.mask.post}), each photo's grey levels "
             "capped at the given percentile of its own before its darkness is taken (100: no cap). F1 of the "
             f"summed confusion. Shipped: {SURFACE_PERCENTILE:g}.", "", "Photos: " + ", ".join(counts) + ".", "",
             "| surface cap (percentile) | " + " | ".join(f1) + " | mean F1 |", "|---|" + "---|" * (len(f1) + 1)]
    for percentile in args.percentiles:
        cells = [f1[name][percentile] for name in f1]
        lines.append(f"| {percentile:g} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {np.mean(cells):.3f} |")
    write_markdown(args.out, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
