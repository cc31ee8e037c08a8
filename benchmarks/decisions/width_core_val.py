"""Which dark core to read crack widths on, chosen on the validation splits (docs/width_core_val.md).

    .venv/bin/python -m benchmarks.decisions.width_core_val [--data-root ../shared/data] [--split val] [--smoke]

For every masked validation photo, the default explanation's unrefined,
unprocessed mask (the band the edge fraction was chosen on) is measured with
widths read on (a) the mask itself, (b) the dark core at Otsu's level
(``dark_core(edge_fraction=1)``), (c) and (d) the core with the edges joined to it
at 0.75 and 0.5 of that level, each over the darkness square the pipeline
sizes for the photo (``MaskSettings.darkness_width``). Prints and writes the median absolute error of
the mean width against the ground truth's (measured the same way, on its mask),
with the median signed error (bias). ``cracklib.mask.refine.dark_core``'s default
edge fraction comes from this table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.common import PHOTO_SETS, generated_by, photo_set_decision_args, write_markdown
from cracklib.io import read_dataset, read_sample
from cracklib.pipeline import DEFAULT_WEIGHTS, PipelineConfig, explain, load_classifier, segment_explanation
from cracklib.mask import dark_core
from cracklib.measure import measure_severity

SETS = PHOTO_SETS
#: column → edge fraction of the dark core (None: widths on the mask).
CORES = {"mask": None, "Otsu core": 1.0, "core + edges at 0.75": 0.75, "core + edges at 0.5": 0.5}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = photo_set_decision_args(parser, "width_core_val.md", argv, max_crack_fraction=False)
    # The mask the edge level was chosen on: thresholded relevance, unrefined and not post-processed (the
    # default then; the default mask now is closed after its refinement, and its widths are read the same way).
    classifier, config = load_classifier(DEFAULT_WEIGHTS), PipelineConfig.of(refine="none", post="none")
    lines = ["# Crack widths: which dark core", "",
             generated_by(__spec__.name, f" --split {args.split}", smoke=args.smoke) + " "
             f"{args.split} splits, default pipeline, photos with crack pixels in their mask and in the "
             "prediction. Median absolute error of the mean crack width (px) against the ground truth's, median "
             "signed error (bias; negative = too thin) in brackets.", "",
             "| data set | photos | " + " | ".join(CORES) + " |", "|---|---|" + "---|" * len(CORES)]
    for name in SETS:
        folder = Path(args.data_root) / name
        if not folder.is_dir():
            continue
        errors = {label: [] for label in CORES}
        for sample in read_dataset(folder, split=args.split):
            if not sample.mask:
                continue
            image, truth = read_sample(sample)
            if truth is None or not truth.any():
                continue
            result = segment_explanation(explain(classifier, image, config.explanation), config.mask, photo=image)
            mask = result.mask
            if not mask.any():
                continue
            true_width = measure_severity(truth).mean_width_px
            for label, fraction in CORES.items():
                # Over the darkness square the pipeline read the widths with (sized on this photo's band).
                core = None if fraction is None else dark_core(mask, image, edge_fraction=fraction,
                                                               darkness=result.darkness)
                errors[label].append(measure_severity(mask, core=core).mean_width_px - true_width)
        cells = [f"{np.median(np.abs(e)):.2f} ({np.median(e):+.2f})" for e in errors.values()]
        lines.append(f"| {name} | {len(errors['mask'])} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    write_markdown(args.out, lines)


if __name__ == "__main__":
    main()
