"""Balanced accuracy of the photo decision against the whole-photo model's logit offset, on one split.

    .venv/bin/python -m benchmarks.decisions.offset_curve [--weights weights/magnetic_tiles.pt]
        [--data ../shared/data/magnetic_tiles] [--split val] [--smoke]

``calibrate`` keeps the offset with the best balanced accuracy; this prints the
whole curve, to see how sharp that best is (with few cracked photos, a single
spike on a flat curve is noise). The tiles keep their card's offset, as in
``calibrate`` with a whole-photo model (:func:`cracklib.pipeline.decision.fit_logit_offset`).
"""
from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import add_smoke, smoke_data
from cracklib.io import read_dataset
from cracklib.run import uncalibrated_decisions
from cracklib.pipeline import load_classifier


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="weights/magnetic_tiles.pt", help="a card with a whole-photo model")
    parser.add_argument("--data", default="../shared/data/magnetic_tiles")
    parser.add_argument("--split", default="val")
    parser.add_argument("--offsets", type=float, nargs=3, default=(-0.4, 2.0, 0.2), metavar=("FIRST", "LAST", "STEP"))
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # a tiny synthetic magnetic-tiles folder (the card's whole-photo model is the shipped one)
        args.data = str(smoke_data(["magnetic_tiles"], split=args.split, n=4) / "magnetic_tiles")
    classifier = load_classifier(args.weights)
    if classifier.whole_photo is None:
        parser.error(f"{args.weights} names no whole-photo model")
    decisions = uncalibrated_decisions(classifier, read_dataset(args.data, split=args.split))
    print(f"{args.weights}, {args.split}: {len(decisions.labels)} photos, {sum(decisions.labels)} cracked; "
          f"tiles' offset {decisions.tile_offset}")
    print("| whole-photo offset | balanced accuracy |\n|---|---|")
    first, last, step = args.offsets
    for offset in np.round(np.arange(first, last + step / 2, step), 2):
        print(f"| {offset:.2f} | {decisions.fit([offset])[1]:.3f} |")


if __name__ == "__main__":
    main()
