"""The darkness square's side (``MaskSettings.darkness_width``) on the validation splits (docs/darkness_width_val.md).

    .venv/bin/python -m benchmarks.decisions.darkness_width_val [--data-root ../shared/data] [--split val]
        [--widths 15 21 31 45 per_photo] [--method lrp|distilled] [--smoke]
    .venv/bin/python -m benchmarks.decisions.darkness_width_val --split test --out docs/darkness_width_test.md
    .venv/bin/python -m benchmarks.decisions.darkness_width_val --method distilled \
        --out docs/darkness_width_distilled_val.md

(the second is the test-split report.)

The default pipeline refines its mask on the photo: it keeps the mask's pixels
darker than the brightest surface within a square around them (a black
top-hat, ``refine.darkness``). A crack wider than the square is not darker
than its own middle, so its middle is dropped. Every masked validation photo
(as ``benchmarks/decisions/refine_val.py``: region annotations left out) and magnetic
tiles' crack and blowhole tiles (as ``benchmarks/decisions/segmenters_val.py``) is
explained once with the default model and settings (or segmented once by
``--method distilled``, magnetic tiles by the network its per-set classifier
brings); the method's default mask step then runs with each square side
(``MaskSettings.darkness_width``), and with the square sized per photo on its
explanation band (``per_photo``, ``refine.band_darkness_width``). Prints and
writes dataset-level F1 (summed confusion) with precision and recall, and
Spearman's ρ of the total crack length against the truth's across photos
(``docs/severity.md``), per set; the mean F1 over the five photo sets and over
all six; for ``per_photo``, the median and largest square it took per set.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import (ROOT, add_data_root, add_smoke, crack_photo_sets, generated_by, network_chooser,
                               region_annotated, relative, smoke_data, smoke_out, write_markdown)
from cracklib.io import read_dataset, read_sample
from cracklib.measure import Confusion, confusion
from cracklib.pipeline import DEFAULT_WEIGHTS, explain, load_classifier, segment_explanation
from cracklib.mask import PER_PHOTO
from cracklib.pipeline import ExplanationSettings, MaskSettings, default_mask
from cracklib.measure import measure_severity

DEFAULT_OUT = ROOT / "docs" / "darkness_width_val.md"
#: The sides compared by default.
WIDTHS = [15, 21, 31, 45, PER_PHOTO]
#: Magnetic tiles' defect groups that count as cracks here (as benchmarks/results/segmenters.py).
TILE_GROUPS = ["crack", "blowhole"]


def photo_sets(data_root: str, *, split: str, max_fraction: float):
    """The five masked photo sets (:func:`benchmarks.common.crack_photo_sets`), then magnetic tiles' masked crack and
    blowhole tiles: (name, kept samples, how many were left out)."""
    yield from crack_photo_sets(data_root, split=split, max_fraction=max_fraction)
    folder = Path(data_root) / "magnetic_tiles"
    if folder.is_dir():
        samples = [s for s in read_dataset(folder, split=split, groups=TILE_GROUPS) if s.mask and s.label != 0]
        kept = [s for s in samples if not region_annotated(s, max_fraction)]
        yield "magnetic_tiles", kept, len(samples) - len(kept)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_root(parser)
    parser.add_argument("--split", default="val")
    parser.add_argument("--widths", type=lambda text: text if text == PER_PHOTO else int(text), nargs="+",
                        default=WIDTHS)
    parser.add_argument("--method", default="lrp", choices=["lrp", "distilled"],
                        help="the default explanation, or the distilled network at its own mask step")
    parser.add_argument("--max-crack-fraction", type=float, default=0.2)
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # one photo set and magnetic tiles, tiny and synthetic, two cracked photos each
        args.data_root = smoke_data(["crackforest", "magnetic_tiles"], split=args.split)
        args.out = smoke_out(args.out, True)
    classifier = load_classifier(DEFAULT_WEIGHTS)
    explanation_settings, mask = ExplanationSettings(method=args.method), default_mask(args.method)
    rows, counts, squares = {}, [], {}
    for name, kept, left_out in photo_sets(args.data_root, split=args.split, max_fraction=args.max_crack_fraction):
        # The explanations come from the default classifier; a network from the one a per-set classifier brings.
        chosen = classifier if args.method == "lrp" else network_chooser(name, classifier)
        totals = {width: Confusion() for width in args.widths}
        lengths = {width: [] for width in args.widths}
        true_lengths, squares[name] = [], []
        for sample in kept:
            image, truth = read_sample(sample)
            explanation = explain(chosen, image, explanation_settings)
            true_lengths.append(measure_severity(truth).length_px)
            for width in args.widths:
                result = segment_explanation(explanation, replace(mask, darkness_width=width), photo=image)
                totals[width] += confusion(result.mask, truth)
                if width == PER_PHOTO and result.darkness is not None:
                    squares[name].append(result.darkness.width)
                lengths[width].append(result.severity.length_px)
        crack_photos = np.array(true_lengths) > 0
        rows[name] = {}
        for width in args.widths:
            rho = spearmanr(np.array(true_lengths)[crack_photos], np.array(lengths[width])[crack_photos])[0]
            rows[name][width] = (totals[width].f1, totals[width].precision, totals[width].recall, float(rho))
        counts.append(f"{name} {len(kept)} ({left_out} left out)")
        print(counts[-1], rows[name], flush=True)
    photo_names = [name for name in rows if name != "magnetic_tiles"]
    means = {width: float(np.mean([rows[name][width][0] for name in photo_names])) for width in args.widths}
    means_all = {width: float(np.mean([rows[name][width][0] for name in rows])) for width in args.widths}
    out = Path(args.out).resolve()
    out_option = "" if out == DEFAULT_OUT else f" --out {relative(out)}"
    method_option = ("" if args.method == "lrp" else f" --method {args.method}") + (
        "" if args.widths == WIDTHS else " --widths " + " ".join(map(str, args.widths)))
    what = (f"LRP {explanation_settings.rules}, tiled" if args.method == "lrp"
            else f"the {args.method} network, tiled; magnetic tiles with the network its per-set classifier brings")
    lines = ["# The darkness square's side", "",
             generated_by(__spec__.name, f" --split {args.split}{method_option}{out_option}", smoke=args.smoke)
             + f" {args.split} splits, default model and its mask step ({what}; "
             f"threshold {mask.threshold}, refinement `{mask.refine}`, post-processing `{mask.post}`), only "
             "the side of the square that the refinement's darkness is taken over changes. Photos with crack pixels "
             f"(magnetic tiles: groups {' and '.join(TILE_GROUPS)}); photos whose truth covers more than "
             f"{args.max_crack_fraction:.0%} of the photo are left out. F1 of the summed confusion (precision / "
             "recall), then Spearman's ρ of the total length against the truth's across photos.", "",
             "Photos: " + ", ".join(counts) + ".", "",
             "| side px | " + " | ".join(rows) + " | mean F1, five photo sets | mean F1, all six |",
             "|---|" + "---|" * (len(rows) + 2)]
    for width in args.widths:
        cells = [f"{f1:.3f} ({precision:.2f} / {recall:.2f}), ρ {rho:.2f}"
                 for f1, precision, recall, rho in (rows[name][width] for name in rows)]
        lines.append(f"| {width}{' (default)' if width == MaskSettings().darkness_width else ''} | "
                     + " | ".join(cells) + f" | {means[width]:.3f} | {means_all[width]:.3f} |")
    if PER_PHOTO in args.widths:
        lines += ["", "The square sized per photo, median (largest) side in px: "
                      + ", ".join(f"{name} {np.median(sides):.0f} ({max(sides)})"
                                  for name, sides in squares.items() if sides) + "."]
    if args.split == "val":
        best = max(means, key=means.get)
        lines += ["", f"Best mean F1 over the five photo sets: {best} ({means[best]:.3f}). Shipped: "
                      f"{MaskSettings().darkness_width}; the README's refinement section says why."]
    else:  # a report: the square is chosen on val
        lines += ["", f"A report on the {args.split} splits; the square is chosen on val (docs/darkness_width_val.md). "
                      f"Shipped: {MaskSettings().darkness_width}."]
    print("\n".join(lines[-len(args.widths) - 3:]))
    write_markdown(args.out, lines)


if __name__ == "__main__":
    main()
