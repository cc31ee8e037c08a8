"""Crack polarity: does deciding it per photo (``auto``) cost the validation sets' dark cracks? (docs/polarity_val.md)

    .venv/bin/python -m benchmarks.decisions.polarity_val [--data-root ../shared/data] [--split val] [--smoke]

The refinement and the widths read a crack's darkness on the photo (``cracklib.mask.refine``); a fatigue crack
on polished metal is bright instead, and ``MaskSettings.polarity`` says which (``dark``, ``bright``, or
``auto``: decided per photo on its explanation band, ``refine.crack_polarity``). Every masked validation photo
is explained once with the default model and settings; the pipeline's own mask step
(``pipeline.segment_explanation``) then cuts it once per polarity. Dataset-level F1 (summed confusion) per set
and the mean over the sets, and how many photos ``auto`` read as bright; the photos are those of
docs/refine_val.md (region annotations left out). The rule, written before the run
(docs/decisions/0021-crack-polarity.md): ``auto`` becomes the default only if its mean F1 is at least
``dark``'s and no set loses more than 0.005.
"""
from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import crack_photo_sets, generated_by, photo_set_decision_args, write_markdown
from cracklib.io import read_sample
from cracklib.measure import Confusion, confusion
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, explain, load_classifier, segment_explanation
from cracklib.pipeline.mask_step import cut_explanation

#: The polarities compared; the first is the default before the comparison (docs/decisions/0021-crack-polarity.md).
POLARITIES = ("dark", "auto", "bright")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = photo_set_decision_args(parser, "polarity_val.md", argv)
    classifier, config = load_classifier(DEFAULT_WEIGHTS), PipelineConfig()
    f1, bright, photos, counts = {}, {}, {}, []
    for name, kept, left_out in crack_photo_sets(args.data_root, split=args.split,
                                                 max_fraction=args.max_crack_fraction):
        totals = {polarity: Confusion() for polarity in POLARITIES}
        bright[name] = 0
        for sample in kept:
            image, truth = read_sample(sample)
            explanation = explain(classifier, image, config.explanation)
            for polarity in POLARITIES:
                settings = config.replace(polarity=polarity).mask
                result = segment_explanation(explanation, settings, photo=image)
                totals[polarity] += confusion(result.mask, truth)
                if polarity == "auto":
                    # What auto decided: the refined cut keeps it (an unrefined or empty cut decides nothing).
                    bright[name] += cut_explanation(explanation, settings, photo=image).polarity == "bright"
        f1[name] = {polarity: totals[polarity].f1 for polarity in POLARITIES}
        photos[name] = len(kept)
        counts.append(f"{name} {len(kept)} ({left_out} left out)")
        print(counts[-1], f1[name], f"auto read {bright[name]} as bright", flush=True)
    means = {polarity: float(np.mean([f1[name][polarity] for name in f1])) for polarity in POLARITIES}
    loss = max(0.0, *(f1[name]["dark"] - f1[name]["auto"] for name in f1))
    passed = means["auto"] >= means["dark"] and loss <= 0.005
    lines = ["# Crack polarity on the validation splits", "",
             generated_by(__spec__.name, f" --split {args.split}", smoke=args.smoke) + " "
             f"{args.split} splits, default model, explanation and mask step (LRP {config.explanation.rules}, "
             f"tiled, {config.mask.threshold}, {config.mask.refine}, {config.mask.post}), cut once per crack "
             "polarity: `dark` (the default before decision 0021), `auto` (decided per photo on its explanation "
             "band), `bright`. F1 of the summed confusion.", "", "Photos: " + ", ".join(counts) + ".", "",
             "| polarity | " + " | ".join(f1) + " | mean F1 |", "|---|" + "---|" * (len(f1) + 1)]
    for polarity in POLARITIES:
        cells = [f1[name][polarity] for name in f1]
        lines.append(f"| {polarity} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {means[polarity]:.3f} |")
    lines += ["", "Photos `auto` read as bright: " + ", ".join(f"{name} {bright[name]} of {photos[name]}"
                                                            for name in f1) + ".", "",
              f"Rule (written before the run): `auto` becomes the default if its mean F1 is at least `dark`'s and no "
              f"set loses more than 0.005. Mean F1 {means['auto']:.3f} against {means['dark']:.3f}, the largest "
              f"loss of a set {loss:.3f}: " + ("`auto` passes." if passed else "`dark` stays the default.")]
    write_markdown(args.out, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
