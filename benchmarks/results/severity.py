"""Severity against ground truth, per image, on the masked test splits (docs/severity.md).

    .venv/bin/python -m benchmarks.results.severity [--data-root ../shared/data] [--split test] [--smoke]

For every image of the split whose mask holds crack pixels, the severity of the
predicted mask (``cracklib.measure.severity.measure_severity``, the one the app and the
CLI report) is compared with the severity of the ground-truth mask measured the
same way: total length, mean and max width, number of cracks (fragments closer
than ``GAP_PX`` joined), area. Per data set and pipeline: the median relative
error of length and area, the median absolute error of the widths (pixels), the
share of images whose crack count is within ±1 of the truth's, and Spearman's
rank correlation across images (does the figure order the photos right?).
For the default pipeline it also names, per data set, the photos that hold its
length correlation down most (leave-one-out: ρ without the photo), so a reader
can see what a low ρ comes from.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import (PHOTO_SETS, ROOT, add_data_root, add_smoke, generated_by, smoke_data, smoke_out,
                               write_markdown)
from cracklib.io import read_dataset, read_sample
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, explain, load_classifier, segment_explanation
from cracklib.pipeline import ExplanationSettings, default_mask, method_available
from cracklib.measure import GAP_PX, measure_severity

SETS = PHOTO_SETS
#: label → pipeline settings. Pipelines sharing an explanation reuse it.
PIPELINES = {
    "default (LRP, gmm, Otsu core, paper, darkness square per photo)": PipelineConfig(),
    "default, widths on the mask": PipelineConfig.of(widths="mask"),
    # The refinement's darkness square fixed: 15 px (the default before the square sized per photo) and 45 px
    # (README, "The darkness square"; docs/darkness_width_val.md).
    "default, fixed 15-px darkness square": PipelineConfig.of(darkness_width=15),
    "default, fixed 45-px darkness square": PipelineConfig.of(darkness_width=45),
    "unrefined, no post-processing (the earlier default)": PipelineConfig.of(refine="none", post="none"),
    # The networks at their own default mask step, as the product runs them (validated in docs/segmenters_val.md).
    "distilled U-Net": PipelineConfig(ExplanationSettings(method="distilled"), default_mask("distilled")),
    "supervised U-Net": PipelineConfig(ExplanationSettings(method="unet"), default_mask("unet")),
}
FIGURES = ("length_px", "mean_width_px", "max_width_px", "n_cracks", "area_px")
#: How many photos per data set the leave-one-out section names.
OUTLIERS = 3


def _aggregate(truth: list[dict], predicted: list[dict]) -> dict:
    def figure(key):
        return np.array([row[key] for row in truth], float), np.array([row[key] for row in predicted], float)

    out = {"images": len(truth)}
    for key in ("length_px", "area_px"):
        t, p = figure(key)
        out[f"{key}_median_relative_error"] = float(np.median(np.abs(p - t) / t))
        out[f"{key}_spearman"] = float(spearmanr(p, t)[0])
    for key in ("mean_width_px", "max_width_px"):
        t, p = figure(key)
        found = p > 0  # a photo whose crack was missed has no width to compare
        out[f"{key}_median_abs_error"] = float(np.median(np.abs(p[found] - t[found]))) if found.any() else None
        out[f"{key}_bias"] = float(np.median(p[found] - t[found])) if found.any() else None
    t, p = figure("n_cracks")
    out["n_cracks_within_1"] = float(np.mean(np.abs(p - t) <= 1))
    out["n_cracks_median_truth"], out["n_cracks_median_predicted"] = float(np.median(t)), float(np.median(p))
    return out


def _length_outliers(names: list[str], truth: list[dict], predicted: list[dict], *, n: int = OUTLIERS
                     ) -> list[dict]:
    """The ``n`` photos whose removal raises the length's Spearman ρ most, with their lengths and areas."""
    t = np.array([row["length_px"] for row in truth], float)
    p = np.array([row["length_px"] for row in predicted], float)
    keep = np.ones(len(t), bool)
    without = []
    for i in range(len(t)):
        keep[i] = False
        without.append(float(spearmanr(p[keep], t[keep])[0]))
        keep[i] = True
    return [{"photo": names[i], "rho_without": without[i], "true_length_px": t[i], "length_px": p[i],
             "true_area_px": truth[i]["area_px"], "area_px": predicted[i]["area_px"]}
            for i in np.argsort(without)[::-1][:n]]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_root(parser)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", default=str(ROOT / "docs" / "severity.md"))
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # one tiny synthetic photo set, three cracked photos
        args.data_root, args.out = smoke_data(["crackforest"], split=args.split, n=6), smoke_out(args.out, True)
    classifier = load_classifier(DEFAULT_WEIGHTS)
    pipelines = {label: config for label, config in PIPELINES.items()
                 if method_available(config.explanation.method)}
    summary, outliers = {}, {}
    default_label = next(iter(pipelines))
    for name in SETS:
        folder = Path(args.data_root) / name
        if not folder.is_dir():
            continue
        names, truth, predicted = [], [], {label: [] for label in pipelines}
        for sample in read_dataset(folder, split=args.split):
            if not sample.mask:
                continue
            image, mask = read_sample(sample)
            if mask is None or not mask.any():
                continue
            names.append(Path(sample.image).name)
            truth.append(measure_severity(mask, gap_px=GAP_PX).summary())
            explained = {}
            for label, config in pipelines.items():
                if config.explanation not in explained:
                    explained[config.explanation] = explain(classifier, image, config.explanation)
                result = segment_explanation(explained[config.explanation], config.mask, photo=image)
                predicted[label].append(result.severity.summary())
        summary[name] = {label: _aggregate(truth, rows) for label, rows in predicted.items()}
        outliers[name] = _length_outliers(names, truth, predicted[default_label])
        print(name, json.dumps(summary[name]), flush=True)
    lines = ["# Severity against ground truth", "",
             generated_by(__spec__.name, f" --split {args.split}", smoke=args.smoke) + " "
             f"{args.split} splits, images whose mask holds crack pixels. The truth's severity is measured on its "
             f"mask exactly as the prediction's (`measure_severity`, fragments closer than {GAP_PX} px joined). "
             "Length and area: median relative error |predicted − true| / true, and Spearman's rank correlation "
             "across images. Widths: median absolute error in pixels and median signed error (bias; positive = "
             "wider than the truth) over the images where a crack was found. Cracks: share of images whose count "
             "is within ±1 of the truth's, and the median counts.", "",
             "| data set | pipeline | images | length error | length ρ | area error | area ρ | mean width error px "
             "(bias) | max width error px (bias) | cracks within ±1 | cracks (median truth / predicted) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def px(value):
        return "–" if value is None else f"{value:.2f}"

    for name, rows in summary.items():
        for label, row in rows.items():
            lines.append(
                f"| {name} | {label} | {row['images']} | {row['length_px_median_relative_error']:.0%} | "
                f"{row['length_px_spearman']:.2f} | {row['area_px_median_relative_error']:.0%} | "
                f"{row['area_px_spearman']:.2f} | {px(row['mean_width_px_median_abs_error'])} "
                f"({px(row['mean_width_px_bias'])}) | {px(row['max_width_px_median_abs_error'])} "
                f"({px(row['max_width_px_bias'])}) | {row['n_cracks_within_1']:.0%} | "
                f"{row['n_cracks_median_truth']:.0f} / {row['n_cracks_median_predicted']:.0f} |")
    lines += ["", "## What holds the default's length ρ down",
              "", f"Per data set, the {OUTLIERS} photos whose removal raises the default pipeline's length ρ most "
              "(ρ without the photo), with the true and predicted total length and area. A photo far from the "
              "others here is one whose mask misses much of the crack or marks something else.", "",
              "| data set | length ρ | photo | ρ without it | length px (true / predicted) | "
              "area px (true / predicted) |", "|---|---|---|---|---|---|"]
    for name, rows in outliers.items():
        for row in rows:
            lines.append(f"| {name} | {summary[name][default_label]['length_px_spearman']:.2f} | {row['photo']} | "
                         f"{row['rho_without']:.2f} | {row['true_length_px']:.0f} / {row['length_px']:.0f} | "
                         f"{row['true_area_px']:,} / {row['area_px']:,} |")
    write_markdown(args.out, lines)
    print(json.dumps({"summary": summary, "length_outliers": outliers}))


if __name__ == "__main__":
    main()
