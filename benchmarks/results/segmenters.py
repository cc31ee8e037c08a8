"""Explanation masks against the self-trained and the supervised U-Net, test splits (docs/segmenters.md).

    .venv/bin/python -m benchmarks.results.segmenters [--data-root ../shared/data] [--split test] [--smoke]

For each masked set, on the images of the split whose mask holds crack pixels:
(a) the explanation masks of the default pipeline (default model, LRP
epsilon_gamma_box, gmm, tiled: what the distilled network learned from),
(b) ``--method distilled`` (a U-Net trained on those masks, image labels only),
(c) ``--method unet`` (a U-Net trained on the train splits' pixel masks), each
with the product's default mask step for it (``cracklib.pipeline.default_mask``,
chosen on the validation splits: docs/refine_val.md for the explanations,
docs/segmenters_val.md for the networks). F1, IoU and AP from the
summed confusion, as both papers; seconds per megapixel of the whole pipeline.
Magnetic tiles: groups crack and blowhole, as Seibold et al.; its networks are
the ones its per-set classifier brings (``weights/segmenters/magnetic_tiles/``,
chosen on its val split) where shipped.
Every number in docs/segmenters.md comes from this script.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.common import (ROOT, SEGMENTER_SETS, add_data_root, add_smoke, generated_by, network_chooser,
                               smoke_data, smoke_out, write_markdown)
from cracklib.io import read_dataset
from cracklib.run import evaluate_samples
from cracklib.io import read_image
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, load_classifier
from cracklib.nets import load_segmenter
from cracklib.pipeline import segmenter_path
from cracklib.pipeline import ExplanationSettings, default_mask, method_available

#: (folder, groups or None); per-set classifiers in ``benchmarks.common.PER_SET_WEIGHTS``.
SETS = SEGMENTER_SETS

#: row label → (pipeline settings, pixel labels used in training).
ROWS = {
    "(a) explanation masks (LRP epsilon_gamma_box, gmm, Otsu core, paper)": (PipelineConfig(), "none (image labels)"),
    "(b) distilled U-Net": (PipelineConfig(ExplanationSettings(method="distilled"), default_mask("distilled")),
                            "none (image labels + the explanations)"),
    "(c) supervised U-Net": (PipelineConfig(ExplanationSettings(method="unet"), default_mask("unet")),
                             "pixel masks of the train splits"),
}


def _mask_step(config: PipelineConfig) -> str:
    mask = config.mask
    return f"threshold `{mask.threshold}`, refinement `{mask.refine}`, post-processing `{mask.post}`"


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_root(parser)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", default=str(ROOT / "docs" / "segmenters.md"))
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # magnetic tiles (its per-set networks) and one photo set, tiny and synthetic
        args.data_root = smoke_data(["magnetic_tiles", "crackforest"], split=args.split, n=3)
        args.out = smoke_out(args.out, True)
    classifier = load_classifier(DEFAULT_WEIGHTS)
    choosers = {name: network_chooser(name, classifier) for name, _ in SETS}  # each set's networks, loaded once
    rows = {label: spec for label, spec in ROWS.items()
            if method_available(spec[0].explanation.method)}
    lines = ["# Explanation masks, self-trained and supervised U-Nets", "",
             generated_by(__spec__.name, f" --split {args.split}", smoke=args.smoke) + " "
             f"{args.split} splits, images whose mask holds crack pixels; F1 / IoU / AP from the summed confusion; "
             f"seconds per megapixel of the whole pipeline with {torch.get_num_threads()} torch thread(s) "
             "(this machine has 2 cores). Each column is its method at the product's default mask step for it "
             "(`cracklib.pipeline.default_mask`), chosen on the validation splits (docs/segmenters_val.md has the "
             "networks' grid):", ""]
    lines += [f"- {label}: {_mask_step(config)}" for label, (config, _) in rows.items()]
    lines.append("")
    for label, (config, labels) in rows.items():
        if config.explanation.method == "lrp":
            lines.append(f"- {label}: `weights/default.pt`, pixel labels: {labels}")
            continue
        used_for = {}  # network → the sets it segments here
        for name, _ in SETS:
            used_for.setdefault(segmenter_path(config.explanation.method, choosers[name].path), []).append(name)
        for path, names in used_for.items():
            _, card = load_segmenter(path, device="cpu")
            sources = card.training_data.get("sources", {})
            crops = sum(split.get("train", 0) for split in sources.values())
            lines.append(f"- {label} on {', '.join(names)}: `{path.relative_to(ROOT)}`, trained on "
                         f"{', '.join(sources)} ({crops} training crops), pixel labels: {labels}; "
                         f"{card.notes.get('command', '')}")
    lines += ["", "| data set | images | " + " | ".join(f"{label} F1 / IoU / AP" for label in rows)
              + " | " + " | ".join(f"{label.split(')')[0]}) s/MP" for label in rows) + " |",
              "|---|---|" + "---|" * (2 * len(rows))]
    summary = {}
    for name, groups in SETS:
        folder = Path(args.data_root) / name
        if not folder.is_dir():
            continue
        samples = [s for s in read_dataset(folder, split=args.split, groups=groups) if s.mask and s.label != 0]
        megapixels = sum(read_image(s.image)[..., 0].size for s in samples) / 1e6
        cells, speeds = [], []
        for label, (config, _) in rows.items():
            start = time.perf_counter()
            chosen = classifier if config.explanation.method == "lrp" else choosers[name]
            report = evaluate_samples(chosen, samples, config)
            seconds = time.perf_counter() - start
            scores = report["segmentation"] or {}
            summary.setdefault(name, {})[label] = {k: scores.get(k) for k in ("f1", "iou", "ap")}
            summary[name][label]["seconds_per_mp"] = seconds / megapixels
            cells.append(f"{_fmt(scores.get('f1'))} / {_fmt(scores.get('iou'))} / {_fmt(scores.get('ap'))}")
            speeds.append(f"{seconds / megapixels:.2f}")
            print(name, label, summary[name][label], flush=True)
        count = scores.get("n_images", len(samples))
        lines.append(f"| {name}{' (' + ' + '.join(groups) + ')' if groups else ''} | {count} | "
                     + " | ".join(cells) + " | " + " | ".join(speeds) + " |")
    write_markdown(args.out, lines)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
