"""Growth report: hard synthetic series with known areas, and the real metal-fatigue series (docs/growth.md).

    .venv/bin/python -m benchmarks.results.growth_report [--weights weights/default.pt] [--data-root ../shared/data]
        [--smoke]

The synthetic part needs nothing else: series from ``cracklib.io.synthetic.growth_series(**HARD_SERIES)``
(exposure and shading drift, noise, blur, JPEG, shifts, turns, a branch that appears), whose true
areas are known, under each way of making the frames agree. The real part needs
``../shared/data/metal_fatigue_growth`` (two series of a fatigue crack in a metal specimen, frame
number = time order, no masks). Every number in docs/growth.md comes from this script;
``python -m cracklib growth FRAMES...`` with the same options reproduces a series.
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
from cracklib.io import read_image
from cracklib.pipeline import DEFAULT_WEIGHTS, load_classifier
from cracklib.io import growth_overlay
from cracklib.io import HARD_SERIES, growth_series

#: Seeds of the hard synthetic series (six frames of 384×512 each).
SEEDS = (3, 5, 7, 11)
#: The frames' size.
SHAPE = (384, 512)
#: (temporal, refine) pairs compared on them; the first is growth's default.
VARIANTS = (("consistent", "otsu_core"), ("consistent", "none"), ("independent", "otsu_core"),
            ("independent", "none"), ("keep_previous", "otsu_core"))


def synthetic_section(classifier, *, seeds=SEEDS, shape=SHAPE, variants=VARIANTS) -> tuple[list[str], dict]:
    """Spearman and per-frame area errors on the hard series, for every variant."""
    series = [growth_series(shape, steps=6, rng=seed, **HARD_SERIES) for seed in seeds]
    lines = ["## Hard synthetic series (known areas)", "",
             f"{len(seeds)} series (seeds {', '.join(map(str, seeds))}), six frames of {shape[0]}×{shape[1]} each, "
             f"made by `growth_series({shape}, steps=6, rng=SEED, **HARD_SERIES)` with `HARD_SERIES = {HARD_SERIES}`; "
             "aligned with the rotation search. Area error = |predicted − true| / true per frame.", "",
             "| frames | refine | Spearman (min over series) | median area error | worst error, frames 3-6 | "
             "worst error, frames 1-2 | frames flagged |", "|---|---|---|---|---|---|---|"]
    summary, default_rows = {}, []
    for temporal, refine in variants:
        rhos, early, late, flagged = [], [], [], 0
        for seed, grown in zip(seeds, series):
            report = monitor_growth(classifier, grown.frames, GROWTH_CONFIG.replace(refine=refine),
                                    rotation=True, temporal=temporal)
            predicted = [frame.result.severity.area_px for frame in report.frames]
            errors = [abs(p - t) / t for p, t in zip(predicted, grown.areas)]
            rhos.append(float(spearmanr(predicted, grown.areas)[0]))
            early += errors[:2]
            late += errors[2:]
            flagged += sum(frame.flagged for frame in report.frames)
            if (temporal, refine) == VARIANTS[0]:
                default_rows.append((seed, grown.areas, predicted, errors))
        summary[f"{temporal}/{refine}"] = {"spearman_min": min(rhos), "median_error": float(np.median(early + late)),
                                           "worst_late": max(late), "worst_early": max(early)}
        default = " (default)" if (temporal, refine) == VARIANTS[0] else ""
        lines.append(f"| {temporal}{default} | {refine} | {min(rhos):.3f} | {np.median(early + late):.0%} | "
                     f"{max(late):.0%} | {max(early):.0%} | {flagged} of {6 * len(seeds)} |")
    lines += ["", "With the defaults, per series:", "", "| seed | true area px | predicted area px | area error |",
              "|---|---|---|---|"]
    for seed, truth, predicted, errors in default_rows:
        lines.append(f"| {seed} | {', '.join(map(str, truth))} | {', '.join(map(str, predicted))} | "
                     f"{', '.join(f'{e:.0%}' for e in errors)} |")
    lines += ["", "Frames: " + "; ".join(f"`{name}`: {text}" for name, text in TEMPORAL_MODES.items()) + ".", ""]
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
    synthetic_lines, synthetic_summary = synthetic_section(classifier, **synthetic)
    series = read_series(folder) if folder.is_dir() else {}
    figure, axes = plt.subplots(max(1, len(series)), 3, figsize=(15, 2.6 * max(1, len(series))),
                                gridspec_kw={"width_ratios": [2, 2, 1.2]}, squeeze=False)
    lines = ["# Growth", "",
             generated_by(__spec__.name, f" --weights {shown}", smoke=args.smoke) + " "
             f"Growth's defaults: {config.explanation.method} {config.explanation.rules}, "
             f"{config.mask.threshold}, post {config.mask.post}, {config.explanation.mode}, masks refined on the "
             f"photo (`refine={config.mask.refine}`), frames aligned onto the first and made consistent "
             "(`--temporal consistent`: one explanation gate and one threshold for the series, masks that only "
             "grow). Reproduce a series with `python -m cracklib growth FRAMES... --json`.", "",
             *synthetic_lines, "## Metal-fatigue series (real, no masks)", "",
             "The crack only grows, so the area should rise with the frame number: Spearman(area, frame) is "
             "given for the defaults and for frames judged alone.", "", "![growth](growth_metal_fatigue.png)", ""]
    summary = {"synthetic": synthetic_summary}
    for row, (name, paths) in enumerate(series.items()):
        images = [read_image(p) for p in paths]
        report = monitor_growth(classifier, images, config, names=[p.name for p in paths])
        alone = monitor_growth(classifier, images, config, names=[p.name for p in paths], temporal="independent")
        data = report.to_dict()
        summary[name] = [frame["area_px"] for frame in data["frames"]]
        rho = {key: spearmanr(areas, range(len(areas)))[0] if len(set(areas)) > 1 else float("nan")
               for key, areas in [("consistent", summary[name]),
                                  ("independent", [f.result.severity.area_px for f in alone.frames])]}
        lines += [f"## {name}", "", "| frame | crack probability | area px | length px | max width px | cracks | "
                  "shift px | new since previous px | flagged |", "|---|---|---|---|---|---|---|---|---|"]
        for index, frame in enumerate(data["frames"]):
            new = data["steps"][index - 1]["new_crack_px"] if index else "–"
            lines.append(f"| {frame['image']} | {frame['crack_probability']:.3f} | {frame['area_px']} | "
                         f"{frame['length_px']:.0f} | {frame['max_width_px']:.1f} | {frame['n_cracks']} | "
                         "{:+.1f}, {:+.1f} | {} | {} |".format(*frame["shift_px"], new,
                                                                "yes" if frame["flagged"] else ""))
        last = data["cumulative"][-1]
        lines += ["", f"First to last frame: area {last['delta_area_px']:+d} px, length "
                      f"{last['delta_length_px']:+.0f} px, max width {last['delta_max_width_px']:+.1f} px, "
                      f"{last['new_crack_px']} new crack pixels. Spearman(area, frame): {rho['consistent']:.2f} "
                      f"with the defaults, {rho['independent']:.2f} with frames judged alone "
                      "(nan: the area does not change).", ""]
        first, final = report.frames[0], report.frames[-1]
        axes[row, 0].imshow(growth_overlay(first.image, first.result.mask, first.result.mask))
        axes[row, 0].set_title(f"{name}: {first.name}", fontsize=9)
        axes[row, 1].imshow(growth_overlay(final.image, first.result.mask, final.result.mask))
        axes[row, 1].set_title(f"{final.name}: orange = in the first frame, magenta = new", fontsize=9)
        axes[row, 2].plot(range(1, len(paths) + 1), summary[name], "o-")
        axes[row, 2].set(xlabel="frame (time order)", ylabel="predicted crack area (px)")
        for axis in axes[row, :2]:
            axis.axis("off")
    figure.tight_layout()
    if series:
        figure.savefig(out.parent / "growth_metal_fatigue.png", dpi=100)
    write_markdown(out, lines, final_newline=False)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
