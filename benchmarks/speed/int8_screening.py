"""The int8 screen of large photos' tiles: how far it is from the float model, and what it saves.

    .venv/bin/python -m benchmarks.speed.int8_screening [--split val] [--max-photos 60] [--repeats 3]
        [--data-root ../shared/data] [--out docs/int8_screening.md] [--smoke]

Tiled mode scores a photo of ``ExplanationSettings.screen_from_tiles`` tiles or
more with an int8 copy of the classifier first, then scores again in float the
tiles that could reach the gate or the photo decision
(:func:`cracklib.pipeline.decision.tiles_to_rescore`, margin
:data:`cracklib.pipeline.decision.SCREENING_MARGIN`). Two parts:

- **agreement**, on real photos (every tile of up to ``--max-photos`` photos per
  set, the screen forced on whatever the photo's size): the largest and the
  99.9th-percentile difference between a tile's int8 and float crack
  probability, the share of tiles scored again, and the photos whose gated
  tiles or photo probability differ between the screened and the float path
  (the claim: none);
- **speed**, on the 12 MP synthetic photo of ``benchmarks/speed/app_latency.py``:
  classifying every tile with and without the screen, alternated in one
  process (medians), and the time to build the screen once per model.

``--smoke``: a 320×256 photo, one repeat, tiny synthetic sets.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, add_data_root, add_smoke, command, smoke_data, smoke_out, write_markdown
from cracklib.io import read_dataset
from cracklib.pipeline import SCREENING_MARGIN, tiles_to_rescore
from cracklib.io import read_image
from cracklib.pipeline import DEFAULT_WEIGHTS, classify_tiles, gated_tiles, load_classifier, score_tiles
from cracklib.pipeline import ExplanationSettings
from cracklib.io import crack_image

#: (weights, data set): the default model on the photo sets, the per-set model on magnetic tiles.
PAIRS = [(DEFAULT_WEIGHTS, name) for name in
         ["brick_walls", "concrete_ozgenel", "crackforest", "cracksc", "deepcrack", "nha12d", "sut_crack"]]
PAIRS.append((ROOT / "weights" / "magnetic_tiles.pt", "magnetic_tiles"))


def agreement(classifier, samples, settings: ExplanationSettings) -> dict:
    screened_settings = replace(settings, screen_from_tiles=0)
    float_settings = replace(settings, screen_from_tiles=None)
    differences, rescored, tiles, disagreeing = [], 0, 0, 0
    for sample in samples:
        image = read_image(sample.image)
        _, work, grid, float_tiles, float_photo = classify_tiles(classifier, image, float_settings)
        *_, cascade_tiles, cascade_photo = classify_tiles(classifier, image, screened_settings)
        raw = score_tiles(classifier, work, grid, range(len(grid)), screened=True)
        differences.append(np.abs(raw - float_tiles))
        rescored += len(tiles_to_rescore(raw, gate=settings.gate, margin=SCREENING_MARGIN, decision=settings.decision))
        tiles += len(grid)
        same_gate = np.array_equal(gated_tiles(float_tiles, float_photo, settings.gate),
                                   gated_tiles(cascade_tiles, cascade_photo, settings.gate))
        disagreeing += not (same_gate and abs(float_photo - cascade_photo) < 1e-6)
    differences = np.concatenate(differences)
    return {"photos": len(samples), "tiles": tiles, "max": float(differences.max()),
            "p999": float(np.quantile(differences, 0.999)), "rescored": rescored / tiles, "disagreeing": disagreeing}


def speed(classifier, repeats: int, shape: tuple[int, int] = (3000, 4000)) -> dict:
    start = time.perf_counter()
    classifier.screening_model  # built once per model (the app does it when it loads the model)
    build = time.perf_counter() - start
    classifier.scoring_model
    image, _ = crack_image(shape, rng=1, max_width=3)
    times = {"float": [], "screened": []}
    settings = ExplanationSettings()
    for _ in range(repeats):
        for name, screen in (("float", None), ("screened", settings.screen_from_tiles)):
            start = time.perf_counter()
            classify_tiles(classifier, image, replace(settings, screen_from_tiles=screen))
            times[name].append(time.perf_counter() - start)
    _, work, grid, exact, _ = classify_tiles(classifier, image, replace(settings, screen_from_tiles=None))
    raw = score_tiles(classifier, work, grid, range(len(grid)), screened=True)
    again = tiles_to_rescore(raw, gate=settings.gate, margin=SCREENING_MARGIN, decision=settings.decision)
    return {"tiles": len(grid), "rescored": len(again), "build": build, "max": float(np.abs(raw - exact).max()),
            **{name: float(np.median(values)) for name, values in times.items()}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_root(parser)
    parser.add_argument("--split", default="val")
    parser.add_argument("--max-photos", type=int, default=60, help="per set, the first in manifest order")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="markdown file for the tables")
    add_smoke(parser)
    args = parser.parse_args(argv)
    shape = (3000, 4000)
    if args.smoke:  # a small photo, one repeat, a tiny synthetic photo set (the default model's screen only)
        args.data_root = smoke_data(["crackforest"], split=args.split, n=2)
        args.out, args.repeats, shape = smoke_out(args.out, True), 1, (256, 320)
    made_by = command(__spec__.name, f" --split {args.split} --max-photos {args.max_photos} --repeats {args.repeats}",
                      smoke=args.smoke)
    lines = [f"# The int8 screen of large photos' tiles\n\nGenerated by {made_by}; do not edit by hand. "
             f"Margin {SCREENING_MARGIN}; default settings (gate 0.5, decision tile_and_whole, 25 % overlap).", "",
             "## Speed: every tile of the 12 MP synthetic photo, 2 cores (medians)", "",
             "| tiles | largest \\|Δp\\| | scored again in float | float only (s) | screened (s) | "
             "building the screen (s, once) |", "|---|---|---|---|---|---|"]
    classifier = load_classifier(DEFAULT_WEIGHTS)
    row = speed(classifier, args.repeats, shape)
    print(row, flush=True)
    lines.append(f"| {row['tiles']} | {row['max']:.3f} | {row['rescored']} | {row['float']:.2f} | "
                 f"{row['screened']:.2f} | {row['build']:.2f} |")
    lines += ["", f"## Agreement: {args.split} split, every tile of up to {args.max_photos} photos a set, "
              "the screen forced on", "",
              "| weights | set | photos | tiles | largest \\|Δp\\| | 99.9th pct \\|Δp\\| | tiles scored again | "
              "photos whose gated tiles or probability differ |", "|---|---|---|---|---|---|---|---|"]
    for weights, name in PAIRS:
        folder = Path(args.data_root) / name
        if not folder.is_dir():
            continue
        classifier = load_classifier(weights)
        samples = read_dataset(folder, split=args.split)[:args.max_photos]
        row = agreement(classifier, samples, ExplanationSettings())
        print(name, row, flush=True)
        lines.append(f"| {Path(weights).name} | {name} | {row['photos']} | {row['tiles']} | {row['max']:.3f} | "
                     f"{row['p999']:.3f} | {row['rescored']:.1%} | {row['disagreeing']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_markdown(args.out, lines)


if __name__ == "__main__":
    main()
