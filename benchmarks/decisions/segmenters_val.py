"""The segmentation networks' mask step, chosen on the validation splits (docs/segmenters_val.md).

    .venv/bin/python -m benchmarks.decisions.segmenters_val [--data-root ../shared/data] [--max-images N] [--smoke]

Each network segments a photo once; every threshold × refinement on the photo
(``cracklib.mask.refine.REFINEMENTS``) × post-processing cuts that one map
(``evaluate_grid``); magnetic tiles with the networks its per-set classifier
brings. The setting with the best mean F1 over the sets (the masked photo sets
and magnetic tiles' crack + blowhole groups, as ``benchmarks/results/segmenters.py``)
is the candidate for the network's own mask step
(``cracklib.pipeline.methods.NETWORK_MASK_STEPS``, which ``benchmarks/results/segmenters.py``
reports), and the table says how far the product's default is from it.
Photos whose truth covers more than 20 % of the photo are left out, as in
``benchmarks/decisions/refine_val.py``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import (ROOT, SEGMENTER_SETS, add_data_root, add_smoke, generated_by, network_chooser,
                               region_annotated, smoke_data, smoke_out, write_markdown)
from cracklib.io import read_dataset
from cracklib.run import evaluate_grid
from cracklib.pipeline import DEFAULT_WEIGHTS, load_classifier
from cracklib.mask import POSTPROCESSING
from cracklib.mask import REFINEMENTS
from cracklib.pipeline import SEGMENTER_METHODS
from cracklib.pipeline import ExplanationSettings, MaskSettings, default_mask

THRESHOLDS = ("probability", "otsu")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_root(parser)
    parser.add_argument("--max-images", type=int, default=None, help="first N photos of each set (default: all)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "segmenters_val.md"))
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # magnetic tiles (its per-set networks) and one photo set, tiny and synthetic
        args.data_root = smoke_data(["magnetic_tiles", "crackforest"], split="val", n=3)
        args.out = smoke_out(args.out, True)
    classifier = load_classifier(DEFAULT_WEIGHTS)
    settings = [ExplanationSettings(method=method) for method in SEGMENTER_METHODS]
    combos = [(m, t, r, p) for m in SEGMENTER_METHODS for t in THRESHOLDS for r in REFINEMENTS for p in POSTPROCESSING]
    f1: dict[str, dict[tuple, float]] = {}
    counts = []
    for name, groups in SEGMENTER_SETS:
        folder = Path(args.data_root) / name
        if not folder.is_dir():
            continue
        samples = [s for s in read_dataset(folder, split="val", groups=groups) if s.mask and s.label != 0]
        kept = [s for s in samples if not region_annotated(s, 0.2)][:args.max_images]
        rows = evaluate_grid(network_chooser(name, classifier), kept, settings, list(THRESHOLDS), list(POSTPROCESSING),
                             mask=MaskSettings(), refinements=list(REFINEMENTS))
        f1[name] = {(r["method"], r["threshold"], r["refine"], r["post"]): r["f1"] for r in rows}
        counts.append(f"{name} {rows[0]['n_images']}")
        print(counts[-1], flush=True)
    means = {combo: float(np.mean([f1[name][combo] for name in f1])) for combo in combos}
    default = MaskSettings()
    lines = ["# Segmentation networks: the mask step on the validation splits", "",
             generated_by(__spec__.name, smoke=args.smoke) + " F1 of the summed "
             "confusion over the val photos whose mask holds crack pixels (magnetic tiles: groups crack and "
             "blowhole); photos whose truth covers more than 20 % of the photo are left out. Photos: "
             + ", ".join(counts) + ".", "",
             "| network | threshold | refinement | post | " + " | ".join(f1) + " | mean F1 |",
             "|---|---|---|---|" + "---|" * (len(f1) + 1)]
    for combo in combos:
        lines.append("| " + " | ".join(combo) + " | " + " | ".join(f"{f1[name][combo]:.3f}" for name in f1)
                     + f" | {means[combo]:.3f} |")
    lines += ["", "| network | best setting | its mean F1 | product default (`cracklib.pipeline.default_mask`) | "
                  "its mean F1 | probability, the explanations' refinement and post-processing | own map unrefined "
                  "(probability, none, none) |", "|---|---|---|---|---|---|---|"]
    chosen = {}
    for method in SEGMENTER_METHODS:
        best = max((c for c in combos if c[0] == method), key=means.get)
        chosen[method] = dict(zip(("threshold", "refine", "post"), best[1:]))
        own = default_mask(method)
        product = (method, own.threshold, own.refine, own.post)
        lines.append(f"| {method} | {', '.join(best[1:])} | {means[best]:.3f} | {', '.join(product[1:])} | "
                     f"{means[product]:.3f} | {means[(method, 'probability', default.refine, default.post)]:.3f} | "
                     f"{means[(method, 'probability', 'none', 'none')]:.3f} |")
    write_markdown(args.out, lines)
    print("\n".join(lines[-len(SEGMENTER_METHODS) - 2:]))
    print(json.dumps(chosen))


if __name__ == "__main__":
    main()
