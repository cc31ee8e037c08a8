"""The results table (docs/results.md) and PR figures, generated from the real data sets.

    .venv/bin/python benchmarks/results.py [--weights weights/default.pt] [--data-root ../shared/data]
        [--split test] [--out docs/results.md]

Needs ``../shared/data``. Every number in docs/results.md comes from this script;
``python -m cracklib evaluate`` with the same settings reproduces any single row.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cracklib.datasets import read_dataset  # noqa: E402
from cracklib.evaluation import evaluate_grid, evaluate_samples  # noqa: E402
from cracklib.metrics import pr_curve  # noqa: E402
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, load_classifier  # noqa: E402

# Seibold et al., Table 3 (magnetic tiles, VGG-A 128N): IoU / precision / recall.
SEIBOLD_TABLE_3 = {
    ("seibold", "simple"): (0.349, 0.352, 0.976), ("seibold", "gmm"): (0.129, 0.129, 0.993),
    ("seibold", "bmm"): (0.462, 0.638, 0.679), ("montavon", "simple"): (0.466, 0.497, 0.897),
    ("montavon", "gmm"): (0.216, 0.216, 0.996), ("montavon", "bmm"): (0.332, 0.703, 0.448),
}
CLASSIFIER_SETS = ["magnetic_tiles", "brick_walls", "crackforest", "cracksc", "nha12d"]
ROAD_SETS = ["crackforest", "cracksc"]
#: Sets for the whole-photo (tiled) section: the full 1920x1080 NHA12D photos and the road sets.
TILED_SETS = ["nha12d", "crackforest", "cracksc"]
THRESHOLDS = ["simple", "gmm", "bmm", "otsu"]


def _resized(**options) -> PipelineConfig:
    """The method grid runs on whole images resized to the model input (cheap, and the issue-3 protocol)."""
    return PipelineConfig(mode="resize", **options)


def explanation_settings() -> list[PipelineConfig]:
    lrp = [_resized(method="lrp", rules=r) for r in
           ["seibold", "montavon", "forest", "epsilon_plus_flat", "epsilon_gamma_box", "epsilon_alpha2_beta1"]]
    captum = [_resized(method="integrated_gradients", baseline="black"),
              _resized(method="integrated_gradients", baseline="damage_free_mean"),
              _resized(method="deeplift", baseline="damage_free_mean"),
              _resized(method="input_x_gradient"),
              _resized(method="gradient_shap", baseline="damage_free_sample"),
              _resized(method="deeplift_shap", baseline="damage_free_sample"),
              _resized(method="grad_cam")]
    return lrp + captum


def tiled_settings() -> list[PipelineConfig]:
    """The default explanation, and the best road-set LRP rule set, on native-resolution tiles vs resized."""
    return [PipelineConfig(mode=mode, method="lrp", rules=rules)
            for rules in ("montavon", "epsilon_gamma_box") for mode in ("tiled", "resize")]


def _label(row: dict) -> str:
    detail = row["rules"] or row["baseline"]
    return f"{row['method']} ({detail})" if detail else row["method"]


def _relative(path: str) -> str:
    """A path inside the project as written from its root (for the generated text)."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _pr_figure(rows: list[dict], title: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 5))
    for row in rows:
        precision, recall, _ = pr_curve(row["sampler"])
        axis.plot(recall, precision, label=f"{_label(row)} AP {row['ap']:.2f}" if row["ap"] is not None else _label(row))
    axis.set(xlabel="recall", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1))
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def tiled_section(classifier, root: Path, split: str, summary: dict) -> list[str]:
    """Whole photos at native resolution (tiled, gated per tile) against the same photos resized."""
    config = PipelineConfig()
    lines = ["", "## Whole photos at native resolution (`--mode tiled`)", "",
             f"Tiles of {classifier.card.input_size} px at the photo's own resolution, {config.tile_overlap:.0%} "
             f"overlap, Hann blending, only tiles with crack probability ≥ {config.gate} explained, threshold "
             "fitted on the explained tiles. Same photos with `--mode resize` below each row. "
             "Reproduce a row with `python -m cracklib evaluate --data DIR --split test --rules RULES "
             "--threshold T --post P --mode MODE`.", "",
             "| data set | LRP rules | mode | s/image | " + " | ".join(f"{t} F1/IoU" for t in THRESHOLDS)
             + " | post |", "|---|---|---|---|---|---|---|---|---|"]
    for name in TILED_SETS:
        if not (root / name).is_dir():
            continue
        rows = evaluate_grid(classifier, read_dataset(root / name, split=split), tiled_settings(), THRESHOLDS,
                             ["none", "paper"],
                             progress=lambda i, n: print(f"\rtiled {name} {i}/{n}", end="", file=sys.stderr))
        print(file=sys.stderr)
        by_key = {(r["rules"], r["mode"], r["threshold"], r["post"]): r for r in rows}
        for rules in ("montavon", "epsilon_gamma_box"):
            for post in ("none", "paper"):
                for mode in ("tiled", "resize"):
                    cells = [by_key[(rules, mode, t, post)] for t in THRESHOLDS]
                    lines.append(f"| {name} ({cells[0]['n_images']}) | {rules} | {mode} | "
                                 f"{cells[0]['seconds_per_image']:.2f} | "
                                 + " | ".join(f"{c['f1']:.3f} / {c['iou']:.3f}" for c in cells) + f" | {post} |")
        for mode in ("tiled", "resize"):
            best = max((r for r in rows if r["mode"] == mode), key=lambda r: r["f1"])
            summary[f"{name}_{mode}_best"] = {k: best[k] for k in ("rules", "threshold", "post", "f1", "iou")}
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--tiles-weights", default=str(DEFAULT_WEIGHTS.with_name("magnetic_tiles.pt")),
                        help="model for the magnetic-tiles rows (Seibold et al. trained per data set)")
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results.md"))
    args = parser.parse_args()
    root, out = Path(args.data_root), Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    classifier = load_classifier(args.weights)
    shown = _relative(args.weights)
    started = time.perf_counter()
    lines = [f"# Results ({args.split} split)", "",
             f"Generated by `.venv/bin/python benchmarks/results.py --weights {shown} --split {args.split}`; "
             "do not edit by hand. Segmentation scores are dataset-level (summed confusion) over the images whose "
             "mask holds crack pixels; images the classifier gates out (probability < 0.5) get an empty mask.", "",
             f"Model: `{shown}` ({classifier.card.arch}, width {classifier.card.width}, "
             f"{classifier.card.input_size} px input).", ""]
    summary: dict = {"weights": shown, "split": args.split}

    lines += ["## Classifier (`evaluate --method none --mode resize`)", "",
              "The whole image resized to the model input, as the image-level training examples were. "
              "The last column is `--mode tiled`: the highest probability of the native-resolution tiles.", "",
              "| data set | images | balanced accuracy | TPR | TNR | AUC | tiled balanced accuracy |",
              "|---|---|---|---|---|---|---|"]
    for name in CLASSIFIER_SETS:
        if not (root / name).is_dir():
            continue
        samples = read_dataset(root / name, split=args.split)
        c = evaluate_samples(classifier, samples, _resized(), segmentation=False)["classifier"]
        tiled = evaluate_samples(classifier, samples, PipelineConfig(mode="tiled"), segmentation=False)["classifier"]
        summary[f"{name}_balanced_accuracy"] = c["balanced_accuracy"]
        summary[f"{name}_tiled_balanced_accuracy"] = tiled["balanced_accuracy"]
        lines.append(f"| {name} | {c['n']} | {_fmt(c['balanced_accuracy'])} | {_fmt(c['tpr'])} | "
                     f"{_fmt(c['tnr'])} | {_fmt(c['auc'])} | {_fmt(tiled['balanced_accuracy'])} |")
        print(f"classifier {name}: {c}; tiled {tiled}", file=sys.stderr)

    tiles = root / "magnetic_tiles"
    if tiles.is_dir():
        tiles_weights = args.tiles_weights if Path(args.tiles_weights).exists() else args.weights
        tiles_weights = _relative(tiles_weights)
        tiles_classifier = load_classifier(tiles_weights)
        tiles_report = evaluate_samples(tiles_classifier, read_dataset(tiles, split=args.split), _resized(),
                                        segmentation=False)
        summary["magnetic_tiles_model_balanced_accuracy"] = tiles_report["classifier"]["balanced_accuracy"]
        samples = read_dataset(tiles, split=args.split, groups=["crack", "blowhole"])
        rows = evaluate_grid(tiles_classifier, samples, [_resized(method="lrp", rules=r) for r in ("seibold", "montavon")],
                             ["simple", "gmm", "bmm"], ["none"])
        lines += ["", "## Magnetic tiles, groups crack + blowhole (Seibold et al. Table 3)", "",
                  f"{rows[0]['n_images']} images; no post-processing, as in the paper. Model: `{tiles_weights}` "
                  f"(balanced accuracy {_fmt(tiles_report['classifier']['balanced_accuracy'])} on all "
                  f"{tiles_report['n_images']} test tiles). Seibold et al. trained one model per data set.", "",
                  "| LRP rules | threshold | IoU | precision | recall | paper IoU | paper precision | paper recall |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in rows:
            paper = SEIBOLD_TABLE_3[(row["rules"], row["threshold"])]
            lines.append(f"| {row['rules']} | {row['threshold']} | {_fmt(row['iou'])} | {_fmt(row['precision'])} | "
                         f"{_fmt(row['recall'])} | {paper[0]:.3f} | {paper[1]:.3f} | {paper[2]:.3f} |")
        lines.append("| U-Net (paper, supervised) | | | | | 0.461 | 0.578 | 0.699 |")
        summary["magnetic_tiles_best_iou"] = max(r["iou"] for r in rows)
        _pr_figure([r for r in rows if r["threshold"] == "simple"], "magnetic tiles (crack + blowhole)",
                   out.parent / "pr_magnetic_tiles.png")
        lines += ["", "![PR magnetic tiles](pr_magnetic_tiles.png)"]

    for name in ROAD_SETS:
        if not (root / name).is_dir():
            continue
        samples = read_dataset(root / name, split=args.split)
        rows = evaluate_grid(classifier, samples, explanation_settings(), ["simple", "gmm", "bmm", "otsu"],
                             ["none", "paper"],
                             progress=lambda i, n: print(f"\r{name} {i}/{n}", end="", file=sys.stderr))
        print(file=sys.stderr)
        lines += ["", f"## {name} ({rows[0]['n_images']} images)", "",
                  "F1 / IoU per method and threshold, without and with the `paper` post-processing.", "",
                  "| method | s/image | " + " | ".join(f"{t} F1/IoU" for t in ["simple", "gmm", "bmm", "otsu"])
                  + " | post | ", "|---|---|---|---|---|---|---|"]
        by_key = {(_label(r), r["threshold"], r["post"]): r for r in rows}
        labels = list(dict.fromkeys(_label(r) for r in rows))
        for label in labels:
            for post in ("none", "paper"):
                cells = [by_key[(label, t, post)] for t in ["simple", "gmm", "bmm", "otsu"]]
                lines.append(f"| {label} | {cells[0]['seconds_per_image']:.3f} | "
                             + " | ".join(f"{c['f1']:.3f} / {c['iou']:.3f}" for c in cells) + f" | {post} |")
        best = max(rows, key=lambda r: r["f1"])
        summary[f"{name}_best"] = {k: best[k] for k in ("method", "rules", "baseline", "threshold", "post", "f1", "iou")}
        lines += ["", f"Best F1: {_label(best)}, {best['threshold']}, post {best['post']}: "
                      f"F1 {best['f1']:.3f}, IoU {best['iou']:.3f}.", ""]
        _pr_figure([r for r in rows if r["threshold"] == "simple" and r["post"] == "none"], name,
                   out.parent / f"pr_{name}.png")
        lines.append(f"![PR {name}](pr_{name}.png)")
    lines += tiled_section(classifier, root, args.split, summary)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    lines += ["", f"Run time: {summary['seconds']} s on this machine.", ""]
    out.write_text("\n".join(lines))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
