"""Growth report: hard synthetic series with known areas, and the real metal-fatigue series (docs/growth.md).

    .venv/bin/python -m benchmarks.results.growth_report [--weights weights/default.pt] [--data-root ../shared/data]
        [--smoke]

The synthetic part needs nothing else: series from ``cracklib.io.synthetic.growth_series(**HARD_SERIES)``
(exposure and shading drift, noise, blur, JPEG, shifts, turns, a branch that appears), whose true
areas are known, under each way of making the frames agree and each static rule. The real part needs
``../shared/data/metal_fatigue_growth`` (two series of a fatigue crack in a metal specimen, frame
number = time order, no masks): a bright crack on dark metal, run with growth's defaults and with the
settings for a bright crack (:data:`BRIGHT_CRACK`), and where the specimen's notch and edge are in the
frame also on a region of interest (:data:`REGIONS`). Every number in docs/growth.md comes from this
script; ``python -m cracklib growth FRAMES...`` with the same options reproduces a series.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import (ROOT, add_data_root, add_smoke, generated_by, relative, smoke_out, temporary_folder,
                               write_markdown)
from cracklib.run import GROWTH_CONFIG, TEMPORAL_MODES, monitor_growth
from cracklib.run.growth import STATIC_RULE, STATIC_RULES
from cracklib.io import read_image
from cracklib.pipeline import DEFAULT_WEIGHTS, load_classifier
from cracklib.io import growth_overlay
from cracklib.io import HARD_SERIES, growth_series

#: Seeds of the hard synthetic series (six frames of 384×512 each).
SEEDS = (3, 5, 7, 11)
#: The frames' size.
SHAPE = (384, 512)
#: (temporal, refine, static) compared on them; the first is growth's default.
VARIANTS = (("consistent", "otsu_core", STATIC_RULE), ("consistent", "none", STATIC_RULE),
            ("independent", "otsu_core", STATIC_RULE), ("independent", "none", STATIC_RULE),
            ("keep_previous", "otsu_core", STATIC_RULE), ("consistent", "otsu_core", "constant"),
            ("consistent", "otsu_core", "drop"))
#: The metal series' bright crack: growth's settings (the crack polarity decided per photo) with every tile
#: explained (the default model gives series_a's frames a crack probability of 0.08-0.14, under the gate:
#: polished metal is unlike its training photos) and the pixels whose photo never changed made alike in every
#: frame.
BRIGHT_CRACK = {"config": {"gate": 0.0}, "static": "constant"}
#: Regions of interest (fractions of the frame's height and of its width): series_a's specimen face left of
#: its machined notch and above its edge, where the crack runs. The notch and the edge, 100-130 grey levels
#: brighter than their surround, are in the explanation's band too and set the refinement's level above the
#: crack's 20-45 levels.
REGIONS = {"series_a": ((0.13, 0.68), (0.53, 0.955))}


def synthetic_section(classifier, *, seeds=SEEDS, shape=SHAPE, variants=VARIANTS) -> tuple[list[str], dict]:
    """Spearman and per-frame area errors on the hard series, for every variant."""
    series = [growth_series(shape, steps=6, rng=seed, **HARD_SERIES) for seed in seeds]
    lines = ["## Hard synthetic series (known areas)", "",
             f"{len(seeds)} series (seeds {', '.join(map(str, seeds))}), six frames of {shape[0]}×{shape[1]} each, "
             f"made by `growth_series({shape}, steps=6, rng=SEED, **HARD_SERIES)` with `HARD_SERIES = {HARD_SERIES}`; "
             "aligned with the rotation search. Area error = |predicted − true| / true per frame.", "",
             "| frames | refine | unchanged pixels | Spearman (min over series) | median area error | "
             "worst error, frames 3-6 | worst error, frames 1-2 | frames flagged |",
             "|---|---|---|---|---|---|---|---|"]
    summary, default_rows = {}, []
    for temporal, refine, static in variants:
        rhos, early, late, flagged = [], [], [], 0
        for seed, grown in zip(seeds, series):
            report = monitor_growth(classifier, grown.frames, GROWTH_CONFIG.replace(refine=refine),
                                    rotation=True, temporal=temporal, static=static)
            predicted = [frame.result.severity.area_px for frame in report.frames]
            errors = [abs(p - t) / t for p, t in zip(predicted, grown.areas)]
            rhos.append(float(spearmanr(predicted, grown.areas)[0]))
            early += errors[:2]
            late += errors[2:]
            flagged += sum(frame.flagged for frame in report.frames)
            if (temporal, refine, static) == VARIANTS[0]:
                default_rows.append((seed, grown.areas, predicted, errors))
        summary[f"{temporal}/{refine}/{static}"] = {
            "spearman_min": min(rhos), "median_error": float(np.median(early + late)), "worst_late": max(late),
            "worst_early": max(early)}
        default = " (default)" if (temporal, refine, static) == VARIANTS[0] else ""
        lines.append(f"| {temporal}{default} | {refine} | {static} | {min(rhos):.3f} | "
                     f"{np.median(early + late):.1%} | {max(late):.1%} | {max(early):.0%} | "
                     f"{flagged} of {6 * len(seeds)} |")
    lines += ["", "With the defaults, per series:", "", "| seed | true area px | predicted area px | area error |",
              "|---|---|---|---|"]
    for seed, truth, predicted, errors in default_rows:
        lines.append(f"| {seed} | {', '.join(map(str, truth))} | {', '.join(map(str, predicted))} | "
                     f"{', '.join(f'{e:.0%}' for e in errors)} |")
    lines += ["", "Frames: " + "; ".join(f"`{name}`: {text}" for name, text in TEMPORAL_MODES.items()) + ".",
              "Unchanged pixels (`--static`): " + "; ".join(f"`{name}`: {text}" for name, text in STATIC_RULES.items())
              + ".", ""]
    return lines, summary


def read_series(folder: Path) -> dict[str, list[Path]]:
    """Frames per series (the manifest's group), in time order (the frame number)."""
    series: dict[str, list[Path]] = {}
    with open(folder / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            series.setdefault(row["group"], []).append(folder / row["image"])
    number = re.compile(r"(\d+)\D*$")
    return {name: sorted(paths, key=lambda p: int(number.search(p.stem).group(1))) for name, paths in series.items()}


def smoke_series(folder: Path, *, shape=(128, 160), frames: int = 3) -> Path:
    """A tiny frame series in the layout of ``metal_fatigue_growth`` (manifest group = series, frame number in
    the name), for ``--smoke``."""
    from cracklib.io import write_manifest, write_png

    grown = growth_series(shape, steps=frames, rng=0, **HARD_SERIES)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for index, frame in enumerate(grown.frames, start=1):
        write_png(folder / "images" / f"frame_{index:02d}.png", frame)
        rows.append({"image": f"images/frame_{index:02d}.png", "label": 1, "split": "test", "group": "series_a"})
    write_manifest(folder, rows)
    return folder


def series_table(report) -> list[str]:
    """One growth report as a markdown table, a frame a row, and its change from the first to the last frame."""
    data = report.to_dict()
    lines = ["| frame | crack probability | area px | length px | max width px | cracks | shift px | "
             "new since previous px | flagged |", "|---|---|---|---|---|---|---|---|---|"]
    for index, frame in enumerate(data["frames"]):
        new = data["steps"][index - 1]["new_crack_px"] if index else "–"
        lines.append(f"| {frame['image']} | {frame['crack_probability']:.3f} | {frame['area_px']} | "
                     f"{frame['length_px']:.0f} | {frame['max_width_px']:.1f} | {frame['n_cracks']} | "
                     "{:+.1f}, {:+.1f} | {} | {} |".format(*frame["shift_px"], new,
                                                            "yes" if frame["flagged"] else ""))
    last = data["cumulative"][-1]
    lengths = [frame["length_px"] for frame in data["frames"]]
    rho = spearmanr(lengths, range(len(lengths)))[0] if len(set(lengths)) > 1 else float("nan")
    lines += ["", f"First to last frame: area {last['delta_area_px']:+d} px, length {last['delta_length_px']:+.0f} px, "
                  f"max width {last['delta_max_width_px']:+.1f} px, {last['new_crack_px']} new crack pixels. "
                  f"Spearman(length, frame) {rho:.2f} (nan: the length does not change).", ""]
    return lines


def region(images: list[np.ndarray], fractions) -> list[np.ndarray]:
    """The frames cut to a region of interest given as fractions of their height and width."""
    (top, bottom), (left, right) = fractions
    return [image[round(top * image.shape[0]):round(bottom * image.shape[0]),
                  round(left * image.shape[1]):round(right * image.shape[1])] for image in images]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    add_data_root(parser)
    parser.add_argument("--out", default=str(ROOT / "docs" / "growth.md"))
    add_smoke(parser)
    args = parser.parse_args(argv)
    synthetic = {"seeds": SEEDS, "shape": SHAPE, "variants": VARIANTS}
    if args.smoke:  # one small synthetic series per part, the default and frames judged alone
        args.out = smoke_out(args.out, True)
        args.data_root = str(temporary_folder("benchmark_smoke_data_"))
        smoke_series(Path(args.data_root) / "metal_fatigue_growth")
        synthetic = {"seeds": SEEDS[:1], "shape": (128, 160), "variants": (VARIANTS[0], VARIANTS[2])}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(args.data_root) / "metal_fatigue_growth"
    out = Path(args.out)
    classifier = load_classifier(args.weights)
    shown = relative(args.weights)
    config = GROWTH_CONFIG
    bright = config.replace(**BRIGHT_CRACK["config"])
    bright_flags = " ".join(f"--{key} {value}" for key, value in {**BRIGHT_CRACK["config"],
                                                                   "static": BRIGHT_CRACK["static"]}.items())
    synthetic_lines, synthetic_summary = synthetic_section(classifier, **synthetic)
    series = read_series(folder) if folder.is_dir() else {}
    figure, axes = plt.subplots(max(1, len(series)), 3, figsize=(15, 2.6 * max(1, len(series))),
                                gridspec_kw={"width_ratios": [2, 2, 1.2]}, squeeze=False)
    lines = ["# Growth", "",
             generated_by(__spec__.name, f" --weights {shown}", smoke=args.smoke) + " "
             f"Growth's defaults: {config.explanation.method} {config.explanation.rules}, "
             f"{config.mask.threshold}, post {config.mask.post}, {config.explanation.mode}, masks refined on the "
             f"photo (`refine={config.mask.refine}`, crack polarity `{config.mask.polarity}`), frames aligned onto "
             "the first and made consistent (`--temporal consistent`: one explanation gate and one threshold for "
             f"the series, masks that only grow), masks as cut (`--static {STATIC_RULE}`). Reproduce a series "
             "with `python -m cracklib growth FRAMES... --json`.", "",
             *synthetic_lines, "## Metal-fatigue series (real, no masks)", "",
             "The fatigue crack is a bright line on dark metal, growing from a machined notch; the crack only "
             "grows, so its length should rise with the frame number. Each series is run with growth's defaults, "
             f"then with the settings for a bright crack (`{bright_flags}`: every tile explained, as the model's "
             "crack probability of polished metal can fall under the gate, the tables' probability column; and "
             "pixels whose photo never changed made alike in every frame, so that the notch does not count as "
             f"growth; the crack's polarity is read on each photo's explanation band in both, "
             f"`--polarity {config.mask.polarity}`)"
             + (", and where the notch and the specimen's edge are in the frame also on a region of interest "
                "(the notch and the edge, 100-130 grey levels brighter than their surround, set the "
                "refinement's level above the crack's 20-45)" if any(name in REGIONS for name in series) else "")
             + ".", "", "![growth](growth_metal_fatigue.png)", ""]
    summary = {"synthetic": synthetic_summary}
    for row, (name, paths) in enumerate(series.items()):
        images = [read_image(p) for p in paths]
        names = [p.name for p in paths]
        runs = [("growth's defaults", images, config, STATIC_RULE),
                (f"bright crack (`{bright_flags}`)", images, bright, BRIGHT_CRACK["static"])]
        if name in REGIONS:
            (top, bottom), (left, right) = REGIONS[name]
            runs.append((f"bright crack, region of interest (rows {top:.0%}-{bottom:.0%}, columns "
                         f"{left:.0%}-{right:.1%} of the frame)", region(images, REGIONS[name]), bright,
                         BRIGHT_CRACK["static"]))
        for index, (title, frames, settings, static) in enumerate(runs):
            report = monitor_growth(classifier, frames, settings, names=names, static=static)
            lines += [f"## {name}: {title}", "", *series_table(report)]
            lengths = [frame.result.severity.length_px for frame in report.frames]
            if index == 0:
                summary[name] = [frame.result.area_px for frame in report.frames]
            else:
                summary[f"{name}, {title}"] = [round(length, 1) for length in lengths]
            axes[row, 2].plot(range(1, len(paths) + 1), lengths, "o-", label=title.split(" (")[0])
        first, final = report.frames[0], report.frames[-1]  # the last run's
        axes[row, 0].imshow(growth_overlay(first.image, first.result.mask, first.result.mask))
        axes[row, 0].set_title(f"{name}, {title.split(' (')[0]}: {first.name}", fontsize=9)
        axes[row, 1].imshow(growth_overlay(final.image, first.result.mask, final.result.mask))
        axes[row, 1].set_title(f"{final.name}: orange = in the first frame, magenta = new", fontsize=9)
        axes[row, 2].set(xlabel="frame (time order)", ylabel="measured crack length (px)")
        axes[row, 2].legend(fontsize=7)
        for axis in axes[row, :2]:
            axis.axis("off")
    figure.tight_layout()
    if series:
        figure.savefig(out.parent / "growth_metal_fatigue.png", dpi=100)
    write_markdown(out, lines, final_newline=False)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
