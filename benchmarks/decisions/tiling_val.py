"""Tile overlap, tile scale and the gate, chosen on the validation splits (docs/tiling_val.md).

    .venv/bin/python -m benchmarks.decisions.tiling_val [--data-root ../shared/data] [--split val]
        [--overlaps 0.25 0.125 0] [--scales 1 0.75 1.5 2] [--gates 0.5 0.3 0.2] [--smoke]

The tiled pipeline cuts a photo into the model's 128-px tiles with
``ExplanationSettings.tile_overlap`` between neighbours, after resizing it by
``tile_scale``. Both set the work of a first result: a 12 MP photo has 1,302
tiles at 25 % overlap and 972 at 12.5 % (issue 12's latency), and a scale s
multiplies the tiles by about s². The gate (``ExplanationSettings.gate``) sets
which photos and which of their tiles are explained: a lower gate explains more
tiles, so more of a faint crack may be found, at more attribution time.

This script runs the default pipeline (``evaluation.evaluate_grid`` with the
default explanation and mask step) on every masked validation photo once per
overlap, scale and gate, and the
classifier alone on the magnetic tiles (its per-set model: small photos, where
overlap decides how many tiles see a defect whole). Photos whose truth covers
more than ``--max-crack-fraction`` of the photo are left out, as in
``benchmarks/decisions/refine_val.py``.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from benchmarks.common import (ROOT, add_data_root, add_smoke, crack_photo_sets, generated_by, smoke_data,
                               smoke_out, write_markdown)
from cracklib.io import read_dataset
from cracklib.run import evaluate_grid, evaluate_samples
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, load_classifier
from cracklib.tiling import tile_grid

TILES_WEIGHTS = DEFAULT_WEIGHTS.with_name("magnetic_tiles.pt")
BENCHMARK_PHOTO = (3000, 4000)  # benchmarks/speed/app_latency.py's 12 MP photo


def tiles_on_benchmark_photo(size: int, overlap: float, scale: float) -> int:
    """How many tiles the pipeline classifies on the latency benchmark's photo at these settings."""
    shape = tuple(max(size, int(round(side * scale))) for side in BENCHMARK_PHOTO)
    return len(tile_grid(shape, size=size, overlap=overlap))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_root(parser)
    parser.add_argument("--split", default="val")
    parser.add_argument("--overlaps", type=float, nargs="+", default=[0.25, 0.125, 0.0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.75, 1.5, 2.0])
    parser.add_argument("--gates", type=float, nargs="+", default=[0.5, 0.3, 0.2])
    parser.add_argument("--max-crack-fraction", type=float, default=0.2)
    parser.add_argument("--out", default=str(ROOT / "docs" / "tiling_val.md"))
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # one photo set and magnetic tiles, tiny and synthetic
        args.data_root = smoke_data(["crackforest", "magnetic_tiles"], split=args.split, n=2)
        args.out = smoke_out(args.out, True)
    classifier, config = load_classifier(DEFAULT_WEIGHTS), PipelineConfig()
    size = classifier.card.input_size
    default = config.explanation
    variants = ([("overlap", o, dataclasses.replace(default, tile_overlap=o)) for o in args.overlaps]
                + [("scale", s, dataclasses.replace(default, tile_scale=s)) for s in args.scales
                   if s != default.tile_scale]  # the default scale and gate are the default overlap's row
                + [("gate", g, dataclasses.replace(default, gate=g)) for g in args.gates if g != default.gate])
    scores, counts = {}, []
    photo_sets = crack_photo_sets(args.data_root, split=args.split, max_fraction=args.max_crack_fraction)
    for name, kept, left_out in photo_sets:
        rows = evaluate_grid(classifier, kept, [v[2] for v in variants], [config.mask.threshold],
                             [config.mask.post], mask=config.mask)
        scores[name] = rows  # one row per variant, in order
        counts.append(f"{name} {rows[0]['n_images']} ({left_out} left out)")
        print(counts[-1], flush=True)
    tiles_folder = Path(args.data_root) / "magnetic_tiles"
    tiles_bacc = {}
    if tiles_folder.is_dir() and TILES_WEIGHTS.exists():
        tiles_classifier = load_classifier(TILES_WEIGHTS)
        every = read_dataset(tiles_folder, split=args.split)
        for kind, value, settings in variants:
            if kind == "gate":  # the classifier's scores are taken at 0.5, whatever the gate
                continue
            report = evaluate_samples(tiles_classifier, every, dataclasses.replace(config, explanation=settings),
                                      segmentation=False)["classifier"]
            tiles_bacc[(kind, value)] = report
            print(kind, value, "magnetic tiles", report, flush=True)
    lines = ["# Tile overlap, tile scale and the gate", "",
             generated_by(__spec__.name, f" --split {args.split}", smoke=args.smoke) + " "
             f"{args.split} splits, default model and pipeline (LRP {default.rules}, {config.mask.threshold}, "
             f"{config.mask.refine}, {config.mask.post}, tiled), photos with crack pixels; photos whose truth covers "
             f"more than {args.max_crack_fraction:.0%} of the photo are left out. F1 of the summed confusion, AP in "
             "brackets. Magnetic tiles: balanced accuracy (TPR / TNR) of the per-set model "
             f"`{TILES_WEIGHTS.name}` on every {args.split} photo, tiled (scored at 0.5, so not per gate). "
             "Tiles: on the 12 MP photo of `benchmarks/speed/app_latency.py`.", "",
             "Photos: " + ", ".join(counts) + ".", "",
             "| setting | tiles on 12 MP | " + " | ".join(scores) + " | mean F1 | magnetic tiles |",
             "|---|---|" + "---|" * (len(scores) + 2)]
    for index, (kind, value, settings) in enumerate(variants):
        cells = [f"{scores[name][index]['f1']:.3f} ({scores[name][index]['ap']:.3f})" for name in scores]
        mean = float(np.mean([scores[name][index]["f1"] for name in scores])) if scores else float("nan")
        tiles = tiles_bacc.get((kind, value))
        tiles_cell = (f"{tiles['balanced_accuracy']:.3f} ({tiles['tpr']:.2f} / {tiles['tnr']:.2f})" if tiles else "–")
        label = (f"overlap {settings.tile_overlap:g}, scale {settings.tile_scale:g}, gate {settings.gate:g}"
                 + (" (default)" if settings == default else ""))
        lines.append(f"| {label} | {tiles_on_benchmark_photo(size, settings.tile_overlap, settings.tile_scale):,} | "
                     + " | ".join(cells) + f" | {mean:.3f} | {tiles_cell} |")
        print(lines[-1], flush=True)
    write_markdown(args.out, lines)


if __name__ == "__main__":
    main()
