"""The results table (docs/results.md) and PR figures, generated from the real data sets.

    .venv/bin/python -m benchmarks.results.results [--weights weights/default.pt] [--data-root ../shared/data]
        [--split test] [--out docs/results.md] [--sections ...] [--smoke]

Needs ``../shared/data`` (``--smoke``: tiny synthetic sets, every section). Every number in docs/results.md
comes from this script; ``python -m cracklib evaluate`` with the same settings reproduces any single row.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import (CANDIDATES, ROOT, SMOKE_CANDIDATES, add_data_root, add_smoke, command, generated_by,
                               measure, relative, seconds_per_megapixel, smoke_data, smoke_out)
from cracklib.io import read_dataset
from cracklib.run import evaluate_grid, evaluate_samples
from cracklib.measure import pr_curve
from cracklib.pipeline import DEFAULT_WEIGHTS, load_classifier
from cracklib.nets.models import read_card
from cracklib.pipeline import network_name, segmenter_path
from cracklib.pipeline import (ExplanationSettings, MaskSettings, PipelineConfig, method_available, method_label,
                               method_weights)

# Seibold et al., Table 3 (magnetic tiles, VGG-A 128N): IoU / precision / recall.
SEIBOLD_TABLE_3 = {
    ("seibold", "simple"): (0.349, 0.352, 0.976), ("seibold", "gmm"): (0.129, 0.129, 0.993),
    ("seibold", "bmm"): (0.462, 0.638, 0.679), ("montavon", "simple"): (0.466, 0.497, 0.897),
    ("montavon", "gmm"): (0.216, 0.216, 0.996), ("montavon", "bmm"): (0.332, 0.703, 0.448),
}
CLASSIFIER_SETS = ["magnetic_tiles", "brick_walls", "concrete_ozgenel", "crackforest", "cracksc", "nha12d",
                   "deepcrack", "sut_crack"]
ROAD_SETS = ["crackforest", "cracksc"]
#: Sets for the whole-photo (tiled) section: the full 1920x1080 NHA12D photos and every other masked photo set.
TILED_SETS = ["nha12d", "crackforest", "cracksc", "deepcrack", "sut_crack"]
#: LRP rule sets of the tiled grid (the val run of this grid chose the product's defaults).
TILED_RULES = ["montavon", "epsilon_gamma_box", "epsilon_plus_flat"]
THRESHOLDS = ["simple", "gmm", "bmm", "otsu"]
#: The mask step of the papers' grids (road, tiles) and of the learned explainers' comparison, as they were
#: measured: thresholded relevance, not refined on the photo (the tiled section compares both).
UNREFINED = MaskSettings(refine="none")
SECTIONS = ("models", "classifier", "tiles", "road", "tiled", "learned", "faithfulness")


#: The faithfulness section's methods: every LRP rule set and every other explanation of the classifier, tiled,
#: each with the product's mask step (the segmentation networks explain no classifier).
FAITHFULNESS_METHODS = ([ExplanationSettings(method="lrp", rules=rules) for rules in
                         ["seibold", "montavon", "forest", "epsilon_plus_flat", "epsilon_gamma_box",
                          "epsilon_alpha2_beta1"]]
                        + [ExplanationSettings(method=method) for method in
                           ["integrated_gradients", "deeplift", "input_x_gradient", "gradient_shap", "deeplift_shap",
                            "saliency", "smoothgrad", "grad_cam", "bcos", "nn_explainer"]])
#: Cracked photos per set in the faithfulness section by default (a report takes seconds per photo and method).
FAITHFULNESS_IMAGES = 3
#: The table's randomisation test stops once the classifier's head (fc3, fc2, fc1) is re-initialised, the step
#: its verdict reads: the conv blocks below would multiply the time of the many-pass methods (Integrated
#: Gradients, the SHAP methods, SmoothGrad) and change no number in the table.
HEAD_STEPS = 3
#: The columns of the faithfulness table: (key of cracklib.run.FAITHFULNESS_KEYS, heading, better when higher).
FAITHFULNESS_COLUMNS = (("deletion_auc", "deletion AUC ↓", False), ("insertion_auc", "insertion AUC ↑", True),
                        ("road_gap", "ROAD LeRF − MoRF ↑", True),
                        ("relevance_mass_accuracy", "relevance mass acc. ↑", True),
                        ("relevance_rank_accuracy", "relevance rank acc. ↑", True),
                        ("pointing_game", "pointing game ↑", True),
                        ("randomisation_spearman", "Spearman after the head is randomised ↓", False))


def _resized(**options) -> ExplanationSettings:
    """The method grid runs on whole images resized to the model input (cheap, and the issue-3 protocol)."""
    return ExplanationSettings(mode="resize", **options)


def explanation_settings() -> list[ExplanationSettings]:
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


def tiled_settings(rules: list[str]) -> list[ExplanationSettings]:
    """Every rule set on native-resolution tiles; the first also resized, for comparison."""
    return ([ExplanationSettings(mode="tiled", method="lrp", rules=name) for name in rules]
            + [ExplanationSettings(mode="resize", method="lrp", rules=rules[0])])


def _label(row: dict) -> str:
    detail = row["rules"] or row["baseline"]
    return f"{row['method']} ({detail})" if detail else row["method"]


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


def tiled_section(classifier, root: Path, split: str, summary: dict, *, rules: list[str],
                  max_images: int | None = None) -> list[str]:
    """Whole photos at native resolution (tiled, gated per tile) against the same photos resized."""
    config, mask = ExplanationSettings(), PipelineConfig().mask
    lines = ["", "## Whole photos at native resolution (`--mode tiled`)", "",
             f"Photo decision `{config.decision}`. "
             f"Tiles of {classifier.card.input_size} px at the photo's own resolution, {config.tile_overlap:.0%} "
             f"overlap, Hann blending, only tiles with crack probability ≥ {config.gate} explained, threshold "
             "fitted on the explained tiles. Same photos with `--mode resize` below each row. "
             "Reproduce a row with `python -m cracklib evaluate --data DIR --split test --rules RULES "
             "--threshold T --post P --mode MODE`.", "",
             "| data set | LRP rules | mode | s/image | " + " | ".join(f"{t} F1/IoU" for t in THRESHOLDS)
             + " | refine | post |", "|---|---|---|---|" + "---|" * len(THRESHOLDS) + "---|---|"]
    refinements = list(dict.fromkeys(["none", mask.refine]))
    f1_by_setting: dict[tuple, list[float]] = {}
    for name in TILED_SETS:
        if not (root / name).is_dir():
            continue
        samples = read_dataset(root / name, split=split)
        if max_images and len(samples) > max_images:  # a fixed, spread-out subset (for the val grid)
            samples = [samples[i] for i in np.linspace(0, len(samples) - 1, max_images).round().astype(int)]
        rows = evaluate_grid(classifier, samples, tiled_settings(rules), THRESHOLDS, ["none", "paper"],
                             mask=mask, refinements=refinements,
                             progress=lambda i, n: print(f"\rtiled {name} {i}/{n}", end="", file=sys.stderr))
        print(file=sys.stderr)
        by_key = {(r["rules"], r["mode"], r["threshold"], r["refine"], r["post"]): r for r in rows}
        for key, row in by_key.items():
            f1_by_setting.setdefault(key, []).append(row["f1"])
        for rule_set in rules:
            for refine in refinements:
                for post in ("none", "paper"):
                    for mode in ("tiled", "resize"):
                        if (rule_set, mode, THRESHOLDS[0], refine, post) not in by_key:
                            continue
                        cells = [by_key[(rule_set, mode, t, refine, post)] for t in THRESHOLDS]
                        lines.append(f"| {name} ({cells[0]['n_images']}) | {rule_set} | {mode} | "
                                     f"{cells[0]['seconds_per_image']:.2f} | "
                                     + " | ".join(f"{c['f1']:.3f} / {c['iou']:.3f}" for c in cells)
                                     + f" | {refine} | {post} |")
        for mode in ("tiled", "resize"):
            best = max((r for r in rows if r["mode"] == mode), key=lambda r: r["f1"])
            summary[f"{name}_{mode}_best"] = {k: best[k] for k in ("rules", "threshold", "refine", "post", "f1", "iou")}
    if f1_by_setting:
        # One setting for every kind of photo: the best mean F1 over the sets (how the defaults are chosen, on val).
        means = {key: sum(f1) / len(f1) for key, f1 in f1_by_setting.items() if key[1] == "tiled"}
        best_rules, _, threshold, refine, post = best = max(means, key=means.get)
        summary["tiled_best_mean"] = {"rules": best_rules, "threshold": threshold, "refine": refine, "post": post,
                                      "mean_f1": means[best]}
        default = means.get((config.rules, "tiled", mask.threshold, mask.refine, mask.post))
        lines += ["", f"Best mean F1 over these sets (tiled): LRP `{best_rules}`, `{threshold}`, refine `{refine}`, "
                      f"post `{post}`: {means[best]:.3f}. The default pipeline (`{config.rules}`, `{mask.threshold}`, "
                      f"refine `{mask.refine}`, post `{mask.post}`): {'–' if default is None else f'{default:.3f}'}."]
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--tiles-weights", default=str(DEFAULT_WEIGHTS.with_name("magnetic_tiles.pt")),
                        help="model for the magnetic-tiles rows (Seibold et al. trained per data set)")
    add_data_root(parser)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results.md"))
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS,
                        help="parts of the report to run (default: all)")
    parser.add_argument("--rules", nargs="+", default=TILED_RULES, help="LRP rule sets of the tiled section")
    parser.add_argument("--max-images", type=int, default=None,
                        help="tiled and faithfulness sections: at most this many photos per set (a spread-out "
                             f"subset; faithfulness: {FAITHFULNESS_IMAGES} unless given)")
    add_smoke(parser)
    args = parser.parse_args(argv)
    candidates = CANDIDATES
    if args.smoke:  # tiny synthetic sets for every section, small model-cost candidates
        args.data_root = smoke_data(["magnetic_tiles", "brick_walls", "crackforest"], split=args.split,
                                    n={"magnetic_tiles": 3, "brick_walls": 2, "crackforest": 2})
        args.out, candidates = smoke_out(args.out, True), SMOKE_CANDIDATES
    root, out = Path(args.data_root), Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    classifier = load_classifier(args.weights)
    shown = relative(args.weights)
    header = [f"# Results ({args.split} split)", "",
              generated_by(__spec__.name, smoke=args.smoke) + " Each section names the "
              "command that made it (`--sections NAME` regenerates one section and keeps the others). Segmentation "
              "scores are dataset-level (summed confusion) over the images whose mask holds crack pixels; images "
              "the classifier gates out (probability < 0.5) get an empty mask.", ""]
    summary: dict = {"weights": shown, "split": args.split}
    makers = {"models": lambda: models_section([args.weights, args.tiles_weights], summary, candidates=candidates,
                                               repeats=1 if args.smoke else 2),
              "classifier": lambda: classifier_section(classifier, root, args.split, summary),
              "tiles": lambda: tiles_section(root, args, out, summary),
              "road": lambda: road_section(classifier, root, args.split, out, summary),
              "tiled": lambda: tiled_section(classifier, root, args.split, summary, rules=args.rules,
                                             max_images=args.max_images),
              "learned": lambda: learned_section(classifier, root, args.split, summary),
              "faithfulness": lambda: faithfulness_section(
                  classifier, root, args.split, summary, max_images=args.max_images or FAITHFULNESS_IMAGES,
                  methods=FAITHFULNESS_METHODS[4:8] if args.smoke else FAITHFULNESS_METHODS)}
    blocks: dict[str, str] = {}
    for name in args.sections:
        started = time.perf_counter()
        lines = makers[name]()
        seconds = round(time.perf_counter() - started, 1)
        summary[f"{name}_seconds"] = seconds
        extra = f" --tiles-weights {relative(args.tiles_weights)}" if name in ("models", "tiles") else ""
        if name == "tiled":
            extra += " --rules " + " ".join(args.rules) + (f" --max-images {args.max_images}" if args.max_images else "")
        if name == "faithfulness" and args.max_images:
            extra += f" --max-images {args.max_images}"
        if out.resolve() != (ROOT / "docs" / "results.md").resolve():
            extra += f" --out {relative(str(out))}"
        made_by = command(__spec__.name, f" --weights {shown}{extra} --split {args.split} --sections {name}",
                          smoke=args.smoke)
        blocks[name] = "\n".join([f"<!-- section {name} -->", *lines, "",
                                   f"*Section made by {made_by} with model `{shown}` ({classifier.card.arch}, "
                                   f"width {classifier.card.width}, {classifier.card.input_size} px) in {seconds} s.*",
                                   f"<!-- end {name} -->"])
        # Written after every section, so a long run keeps what it has finished; the other sections are read
        # back just before, so runs of different sections can share one file.
        blocks = {**(_read_sections(out) if out.exists() else {}), name: blocks[name]}
        out.write_text("\n".join(header + [blocks[k] for k in SECTIONS if k in blocks]) + "\n")
    print(json.dumps(summary))


#: The learned explainers of Forest et al. against two post-hoc methods (issue 17): same photos, same mask step.
LEARNED_METHODS = [ExplanationSettings(method="input_x_gradient"), ExplanationSettings(),
                   ExplanationSettings(method="bcos"), ExplanationSettings(method="nn_explainer")]
#: The learned section adds ``percentile`` (the top share of the explained pixels): an explainer's mask
#: is a smooth blob whose ranking is good but whose mixture-model cut is loose.
LEARNED_THRESHOLDS = THRESHOLDS + ["percentile"]
#: Where the B-cos classifier is compared with the default model.
BCOS_CLASSIFIER_SETS = ["brick_walls", "concrete_ozgenel"]


def learned_section(classifier, root: Path, split: str, summary: dict) -> list[str]:
    """B-cos and NN-Explainer next to Input×Gradient and the default LRP, tiled, every mask threshold."""
    methods = [settings for settings in LEARNED_METHODS if method_available(settings.method)]
    lines = ["", "## Learned explainers: B-cos and NN-Explainer (Forest et al.)", "",
             "`bcos` classifies and explains with the shipped B-cos VGG-11 (`weights/bcos.pt`, its contribution "
             "map W(x)·x summed over the six input channels); `nn_explainer` is the mask of the explainer network "
             "trained against `weights/default.pt` (`weights/nn_explainer.pt`); the other two explain "
             "`weights/default.pt`. Whole photos, tiled, gated, then the same threshold and mask step for all "
             "(no post-processing).", ""]
    if method_available("bcos"):
        bcos = load_classifier(method_weights("bcos"))
        lines += ["| data set | images | default model, resize / tiled balanced accuracy | "
                  "B-cos, resize / tiled balanced accuracy |", "|---|---|---|---|"]
        for name in BCOS_CLASSIFIER_SETS:
            if not (root / name).is_dir():
                continue
            samples = read_dataset(root / name, split=split)
            scores = {}
            for label, model in (("default", classifier), ("bcos", bcos)):
                for mode in ("resize", "tiled"):
                    scores[label, mode] = evaluate_samples(model, samples, PipelineConfig.of(mode=mode),
                                                           segmentation=False)["classifier"]["balanced_accuracy"]
            summary[f"{name}_bcos_balanced_accuracy"] = {f"{k[0]}_{k[1]}": v for k, v in scores.items()}
            lines.append(f"| {name} | {len(samples)} | {_fmt(scores['default', 'resize'])} / "
                         f"{_fmt(scores['default', 'tiled'])} | {_fmt(scores['bcos', 'resize'])} / "
                         f"{_fmt(scores['bcos', 'tiled'])} |")
        lines.append("")
    lines += ["| data set | method | s/image | " + " | ".join(f"{t} F1/IoU" for t in LEARNED_THRESHOLDS) + " |",
              "|---|---|---|" + "---|" * len(LEARNED_THRESHOLDS)]
    for name in TILED_SETS:
        if not (root / name).is_dir():
            continue
        rows = evaluate_grid(classifier, read_dataset(root / name, split=split), methods, LEARNED_THRESHOLDS, ["none"],
                             mask=UNREFINED, progress=lambda i, n: print(f"\rlearned {name} {i}/{n}", end="", file=sys.stderr))
        print(file=sys.stderr)
        for label in dict.fromkeys(_label(row) for row in rows):
            cells = {r["threshold"]: r for r in rows if _label(r) == label}
            first = cells[LEARNED_THRESHOLDS[0]]
            summary[f"{name}_{label}_gmm_f1"] = cells["gmm"]["f1"]
            lines.append(f"| {name} ({first['n_images']}) | {label} | {first['seconds_per_image']:.2f} | "
                         + " | ".join(f"{cells[t]['f1']:.3f} / {cells[t]['iou']:.3f}" for t in LEARNED_THRESHOLDS) + " |")
    return lines


def _read_sections(path: Path) -> dict[str, str]:
    """The sections of an earlier report, by name (the blocks between the section markers)."""
    text = path.read_text()
    found = re.findall(r"(<!-- section (\w+) -->.*?<!-- end \2 -->)", text, flags=re.S)
    return {name: block for block, name in found}


def _training_row(classifier, *, whole_photo_of: str | None = None) -> str:
    card = classifier.card
    history = [h for h in card.notes.get("history", []) if h.get("val_loss") is not None]
    kept = min(history, key=lambda h: h["val_loss"]) if history else {}
    sources = card.training_data.get("sources", {})
    counts = [sum(v.get(split, {}).get("examples", 0) + v.get(split, {}).get("hard_negatives", 0)
                  for v in sources.values() if isinstance(v.get(split), dict)) for split in ("train", "val")]
    data = card.training_data
    how = (f"; fine-tuned from {data['fine_tuned_from']}" if data.get("fine_tuned_from") else "") + \
        ("; repeated " + ", ".join(f"{k} {v}×" for k, v in data["oversampled"].items())
         if data.get("oversampled") else "") + \
        (f"; whole photos only, the whole-photo model of `{relative(whole_photo_of)}`" if whole_photo_of else "")
    return (f"| `{relative(classifier.path)}` | {card.arch}, width {card.width}, {card.input_size} px{how} | "
            f"{counts[0]:,} / {counts[1]:,} | {card.notes.get('epochs_run')} | "
            f"{card.notes.get('wall_time_s', 0) / 60:.0f} min | {_fmt(kept.get('val_balanced_accuracy'))} |")


def models_section(weights: list[str], summary: dict, *, candidates=CANDIDATES, repeats: int = 2) -> list[str]:
    """The shipped models' training (from their cards) and what wider or larger models would cost."""
    lines = ["## Models: training and cost", "",
             "Trained with `python -m cracklib train` on 2 CPU cores (the command is in each card); validation "
             "balanced accuracy over all validation examples (whole images and native patches) of the kept epoch.", "",
             "| weights | architecture | examples (train / val) | epochs | wall time | val balanced accuracy |",
             "|---|---|---|---|---|---|"]
    for path in weights:
        if not Path(path).exists():
            continue
        classifier = load_classifier(path, device="cpu")
        # A card's whole-photo model (it joins the photo decision) gets its own row below its model's.
        for model in filter(None, (classifier, classifier.whole_photo)):
            lines.append(_training_row(model, whole_photo_of=path if model is classifier.whole_photo else None))
    lines += ["", "What a wider or larger classifier would cost here (`benchmarks/speed/model_cost.py`, random inputs, "
                  "2 threads): training time per example, and seconds per megapixel of a tiled photo with every "
                  "tile classified and one in four explained with LRP.", "",
              "| architecture | width | input | parameters (M) | train ms/example | classify ms/tile | LRP ms/tile "
              "| s/MP tiled |", "|---|---|---|---|---|---|---|---|"]
    for arch, width, size in candidates:
        row = measure(arch, width, size, repeats=repeats)
        lines.append(f"| {arch} | {width} | {size} | {row['parameters_m']} | {row['train_ms_per_example']} | "
                     f"{row['classify_ms_per_tile']} | {row['explain_ms_per_tile']} | "
                     f"{seconds_per_megapixel(row, size, explained=4.0)} |")
    return lines


def classifier_section(classifier, root: Path, split: str, summary: dict) -> list[str]:
    default = PipelineConfig()
    lines = ["## Classifier (`evaluate --method none`)", "",
             "`resize`: the whole image resized to the model input, as the image-level training examples were. "
             f"`tiled`: native-resolution tiles, the photo's probability by the default decision `{default.explanation.decision}` "
             "(cracklib/decision.py); `tiled, max_tile`: the highest tile probability (the earlier rule). "
             "TPR/TNR/AUC are of `resize`.", "",
             "| data set | images | resize balanced accuracy | TPR | TNR | AUC | tiled balanced accuracy "
             "| tiled, max_tile |", "|---|---|---|---|---|---|---|---|"]
    for name in CLASSIFIER_SETS:
        if not (root / name).is_dir():
            continue
        samples = read_dataset(root / name, split=split)
        c = evaluate_samples(classifier, samples, PipelineConfig.of(mode="resize"), segmentation=False)["classifier"]
        tiled = evaluate_samples(classifier, samples, default, segmentation=False)["classifier"]
        by_max = evaluate_samples(classifier, samples, PipelineConfig.of(decision="max_tile"),
                                  segmentation=False)["classifier"]
        summary[f"{name}_balanced_accuracy"] = c["balanced_accuracy"]
        summary[f"{name}_tiled_balanced_accuracy"] = tiled["balanced_accuracy"]
        lines.append(f"| {name} | {c['n']} | {_fmt(c['balanced_accuracy'])} | {_fmt(c['tpr'])} | "
                     f"{_fmt(c['tnr'])} | {_fmt(c['auc'])} | {_fmt(tiled['balanced_accuracy'])} | "
                     f"{_fmt(by_max['balanced_accuracy'])} |")
        print(f"classifier {name}: {c}; tiled {tiled}", file=sys.stderr)
    return lines


def tiles_section(root: Path, args, out: Path, summary: dict) -> list[str]:
    """Magnetic tiles with the per-set model, as Seibold et al. (Table 3), resized and tiled."""
    tiles = root / "magnetic_tiles"
    if not tiles.is_dir():
        return []
    tiles_weights = relative(args.tiles_weights if Path(args.tiles_weights).exists() else args.weights)
    tiles_classifier = load_classifier(tiles_weights)
    every = read_dataset(tiles, split=args.split)
    scores = {mode: evaluate_samples(tiles_classifier, every, PipelineConfig.of(mode=mode),
                                     segmentation=False)["classifier"] for mode in ("resize", "tiled")}
    summary["magnetic_tiles_model_balanced_accuracy"] = {m: s["balanced_accuracy"] for m, s in scores.items()}
    samples = read_dataset(tiles, split=args.split, groups=["crack", "blowhole"])
    rows = evaluate_grid(tiles_classifier, samples,
                         [ExplanationSettings(method="lrp", rules=r, mode=m) for m in ("resize", "tiled")
                          for r in ("seibold", "montavon")], ["simple", "gmm", "bmm"], ["none"], mask=UNREFINED,
                         refinements=["none", "otsu_core"])
    lines = ["", "## Magnetic tiles, groups crack + blowhole (Seibold et al. Table 3)", "",
             f"{rows[0]['n_images']} images; no post-processing, as in the paper; refinement `none` is the paper's "
             "mask (thresholded relevance), `otsu_core` the product's default refinement on the photo "
             f"(`cracklib.mask.refine`), which the paper does not have. Model: `{tiles_weights}`, "
             f"balanced accuracy on all {len(every)} tiles of the split: "
             + ", ".join(f"{_fmt(s['balanced_accuracy'])} ({m}; TPR {_fmt(s['tpr'])}, TNR {_fmt(s['tnr'])})"
                         for m, s in scores.items())
             + ". Seibold et al. trained one model per data set.", "",
             "| LRP rules | mode | threshold | refinement | IoU | precision | recall | paper IoU | paper precision "
             "| paper recall |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        paper = SEIBOLD_TABLE_3[(row["rules"], row["threshold"])]
        lines.append(f"| {row['rules']} | {row['mode']} | {row['threshold']} | {row['refine']} | {_fmt(row['iou'])} | "
                     f"{_fmt(row['precision'])} | {_fmt(row['recall'])} | {paper[0]:.3f} | {paper[1]:.3f} | "
                     f"{paper[2]:.3f} |")
    if method_available("unet"):
        # Our supervised reference beside the paper's: the network magnetic tiles' model brings, its map at 0.5.
        network = segmenter_path("unet", tiles_classifier.path)
        unet = evaluate_samples(tiles_classifier, samples, PipelineConfig.of(method="unet", threshold="probability",
                                                                             refine="none", post="none"))
        scores_unet = unet["segmentation"]
        lines.append(f"| U-Net (ours, supervised: `{network_name(network)}`, "
                     f"{read_card(network).views} views) | tiled | probability | none | "
                     f"{_fmt(scores_unet['iou'])} | {_fmt(scores_unet['precision'])} | {_fmt(scores_unet['recall'])} "
                     "| | | |")
        summary["magnetic_tiles_unet_iou"] = scores_unet["iou"]
    lines.append("| U-Net (paper, supervised) | | | | | | | 0.461 | 0.578 | 0.699 |")
    best = max(rows, key=lambda r: r["iou"])
    summary["magnetic_tiles_best_iou"] = {k: best[k] for k in ("rules", "mode", "threshold", "refine", "iou")}
    # The refinement does not change the relevance the PR curve ranks: one curve per rule set.
    _pr_figure([r for r in rows if r["threshold"] == "simple" and r["mode"] == best["mode"] and r["refine"] == "none"],
               f"magnetic tiles (crack + blowhole, {best['mode']})", out.parent / "pr_magnetic_tiles.png")
    return lines + ["", "![PR magnetic tiles](pr_magnetic_tiles.png)"]


def road_section(classifier, root: Path, split: str, out: Path, summary: dict) -> list[str]:
    """Every method × threshold × post-processing on the road sets, images resized (the issue-3 protocol)."""
    lines = []
    for name in ROAD_SETS:
        if not (root / name).is_dir():
            continue
        samples = read_dataset(root / name, split=split)
        rows = evaluate_grid(classifier, samples, explanation_settings(), THRESHOLDS, ["none", "paper"],
                             mask=UNREFINED, progress=lambda i, n: print(f"\r{name} {i}/{n}", end="", file=sys.stderr))
        print(file=sys.stderr)
        lines += ["", f"## {name} ({rows[0]['n_images']} images, `--mode resize`)", "",
                  "F1 / IoU per method and threshold, without and with the `paper` post-processing.", "",
                  "| method | s/image | " + " | ".join(f"{t} F1/IoU" for t in THRESHOLDS)
                  + " | post | ", "|---|---|---|---|---|---|---|"]
        by_key = {(_label(r), r["threshold"], r["post"]): r for r in rows}
        for label in dict.fromkeys(_label(r) for r in rows):
            for post in ("none", "paper"):
                cells = [by_key[(label, t, post)] for t in THRESHOLDS]
                lines.append(f"| {label} | {cells[0]['seconds_per_image']:.3f} | "
                             + " | ".join(f"{c['f1']:.3f} / {c['iou']:.3f}" for c in cells) + f" | {post} |")
        best = max(rows, key=lambda r: r["f1"])
        summary[f"{name}_best"] = {k: best[k] for k in ("method", "rules", "baseline", "threshold", "post", "f1", "iou")}
        lines += ["", f"Best F1: {_label(best)}, {best['threshold']}, post {best['post']}: "
                      f"F1 {best['f1']:.3f}, IoU {best['iou']:.3f}.", ""]
        _pr_figure([r for r in rows if r["threshold"] == "simple" and r["post"] == "none"], name,
                   out.parent / f"pr_{name}.png")
        lines.append(f"![PR {name}](pr_{name}.png)")
    return lines



def faithfulness_section(classifier, root: Path, split: str, summary: dict, *, max_images: int,
                         methods: list[ExplanationSettings] = FAITHFULNESS_METHODS) -> list[str]:
    """Every explanation method's faithfulness, localisation and randomisation scores beside its segmentation F1,
    on the cracked photos of the five photo sets, and which metric ranks the methods as F1 does."""
    methods = [settings for settings in methods if method_available(settings.method)]
    per_method: dict[str, dict[str, list[float]]] = {}
    verdicts: dict[str, list[bool]] = {}
    counts = []
    for name in TILED_SETS:
        if not (root / name).is_dir():
            continue
        cracked = [sample for sample in read_dataset(root / name, split=split) if sample.label == 1 and sample.mask]
        if len(cracked) > max_images:  # a fixed, spread-out subset
            cracked = [cracked[i] for i in np.linspace(0, len(cracked) - 1, max_images).round().astype(int)]
        counts.append(f"{name} {len(cracked)}")
        for settings in methods:
            label = method_label(settings)
            print(f"faithfulness {name} {label}", file=sys.stderr)
            report = evaluate_samples(classifier, cracked, PipelineConfig(explanation=settings), faithfulness=True,
                                      faithfulness_options={"cascade": HEAD_STEPS})
            if report["segmentation"] is None:
                continue
            scores = per_method.setdefault(label, {})
            scores.setdefault("f1", []).append(report["segmentation"]["f1"])
            for key, value in report["faithfulness"].items():
                if value is not None:
                    scores.setdefault(key, []).append(value)
            verdicts.setdefault(label, []).extend(
                bool(row["faithfulness"]["depends_on_top_layers"]) for row in report["segmentation"]["per_image"]
                if row["faithfulness"]["depends_on_top_layers"] is not None)
    means = {label: {key: float(np.mean(values)) for key, values in scores.items()}
             for label, scores in per_method.items()}
    lines = ["", "## Faithfulness, localisation and sanity checks", "",
             f"Cracked test photos, a spread-out subset per set ({', '.join(counts)}); the default pipeline (tiled, "
             "its mask step) with each method. Each number is the mean over the sets of the per-set mean over "
             "the photos (`python -m cracklib evaluate --faithfulness`, at most 8 explained tiles per photo, "
             "the damage-free mean as the fill, the randomisation test down to the head); F1 is the sets' mean of "
             "the summed-confusion F1 of the same photos. *Depends on the top layers*: the share of photos whose map's Spearman correlation with the "
             "trained model's fell below 0.5 once the classifier's head (fc3 to fc1) was re-initialised "
             "(docs: methods/faithfulness.md).", "",
             "| method | F1 | " + " | ".join(heading for _, heading, _ in FAITHFULNESS_COLUMNS)
             + " | depends on the top layers |",
             "|---|---|" + "---|" * len(FAITHFULNESS_COLUMNS) + "---|"]
    for label, row in sorted(means.items(), key=lambda item: -item[1]["f1"]):
        shares = verdicts.get(label, [])
        lines.append(f"| {label} | {row['f1']:.3f} | "
                     + " | ".join(_fmt(row.get(key)) for key, _, _ in FAITHFULNESS_COLUMNS)
                     + f" | {f'{np.mean(shares):.0%} of {len(shares)}' if shares else '–'} |")
    correlations = {}
    for key, heading, higher in FAITHFULNESS_COLUMNS:
        pairs = [(row["f1"], row[key]) for row in means.values() if key in row]
        if len(pairs) >= 4:
            rho = spearmanr(*zip(*pairs)).statistic
            if np.isfinite(rho):  # a metric equal for every method ranks nothing
                correlations[key] = float(rho if higher else -rho)  # > 0: the better-scoring, the better F1
    if correlations:
        lines += ["", "Across methods, Spearman correlation between each metric (signed so that a positive value "
                      "means the better-scoring method also segments better) and F1:", "",
                  "| metric | ρ with F1 |", "|---|---|"]
        lines += [f"| {heading} | {correlations[key]:+.2f} |" for key, heading, _ in FAITHFULNESS_COLUMNS
                  if key in correlations]
        best = max(correlations, key=correlations.get)
        summary["faithfulness_best_predictor"] = {"metric": best, "rho": correlations[best]}
        lines += ["", *_faithfulness_findings(means, correlations)]
    summary["faithfulness"] = means
    return lines


def _faithfulness_findings(means: dict[str, dict[str, float]], correlations: dict[str, float]) -> list[str]:
    """The table's findings in words, from its numbers: which metric predicts F1 without and with a mask, which
    way the randomisation test points, and the z+ rule sets beside epsilon_gamma_box."""
    heading = {key: text.rstrip(" ↑↓") for key, text, _ in FAITHFULNESS_COLUMNS}
    found = []
    free = [key for key in ("deletion_auc", "insertion_auc", "road_gap") if key in correlations]
    placed = [key for key in ("relevance_mass_accuracy", "relevance_rank_accuracy", "pointing_game")
              if key in correlations]
    if free and placed:
        best_free, best_placed = max(free, key=correlations.get), max(placed, key=correlations.get)
        others = ", ".join(f"{heading[key]} {correlations[key]:+.2f}" for key in free if key != best_free)
        found.append(f"**Which metric predicts F1.** Without a mask, the {heading[best_free]} ranks the methods most "
                     f"as their F1 does (ρ = {correlations[best_free]:+.2f}; {others}). With a mask, the "
                     f"{heading[best_placed]} does (ρ = {correlations[best_placed]:+.2f}): it scores the relevance "
                     "against the very mask F1 is measured on.")
    if "randomisation_spearman" in correlations:
        rho = -correlations["randomisation_spearman"]  # Spearman of the maps after the head's randomisation, with F1
        reading = ("the maps that change least segment best: the sanity check and segmentation quality point "
                   "opposite ways (the concern of Sixt et al. about modified-backpropagation rules)" if rho >= 0.5 else
                   "the maps that change most segment best, as the sanity check would want" if rho <= -0.5 else
                   "no clear relation between the two")
        found.append(f"**The randomisation test.** The Spearman of a method's maps before and after the "
                     f"classifier's head is re-initialised correlates {rho:+.2f} with its F1 across methods: "
                     f"{reading}.")
    rules = {rule: means.get(f"lrp ({rule})", {}).get("randomisation_spearman")
             for rule in ("epsilon_plus_flat", "montavon", "epsilon_gamma_box")}
    if all(value is not None for value in rules.values()):
        kept = ", ".join(f"`{rule}` {value:.2f}" for rule, value in rules.items())
        changed = [rule for rule, value in rules.items() if value < 0.5]
        found.append(f"**The rule sets with z⁺ layers.** After the head is re-initialised, the LRP maps keep a "
                     f"Spearman with the trained model's of {kept}. "
                     + ("All three stay above 0.5: by this test none of them depends on the classifier's top "
                        "layers, `epsilon_gamma_box` no more than the z⁺ rule sets." if not changed else
                        f"Below 0.5, so depending on the top layers: {', '.join(f'`{rule}`' for rule in changed)}."))
    return [line for finding in found for line in (finding, "")][:-1]


if __name__ == "__main__":
    main()
