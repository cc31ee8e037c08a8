"""Balanced accuracy of the photo decision against the whole-photo model's logit offset, on one split.

    .venv/bin/python benchmarks/offset_curve.py [--weights weights/magnetic_tiles.pt]
        [--data ../shared/data/magnetic_tiles] [--split val]

``calibrate`` keeps the offset with the best balanced accuracy; this prints the
whole curve, to see how sharp that best is (with few cracked photos, a single
spike on a flat curve is noise). The tiles keep their card's offset, as in
``calibrate`` with a whole-photo model (:func:`cracklib.decision.fit_logit_offset`).
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from cracklib.datasets import read_dataset
from cracklib.decision import fit_logit_offset
from cracklib.imageio import read_image
from cracklib.pipeline import classify_tiles, load_classifier, whole_photo_probability
from cracklib.settings import ExplanationSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="weights/magnetic_tiles.pt", help="a card with a whole-photo model")
    parser.add_argument("--data", default="../shared/data/magnetic_tiles")
    parser.add_argument("--split", default="val")
    parser.add_argument("--offsets", type=float, nargs=3, default=(-0.4, 2.0, 0.2), metavar=("FIRST", "LAST", "STEP"))
    args = parser.parse_args()
    classifier = load_classifier(args.weights)
    if classifier.whole_photo is None:
        parser.error(f"{args.weights} names no whole-photo model")
    tile_offset = classifier.card.logit_offset
    # Every probability as trained; the fit applies the offsets.
    whole = replace(classifier.whole_photo, card=replace(classifier.whole_photo.card, logit_offset=0.0))
    raw = replace(classifier, card=replace(classifier.card, logit_offset=0.0), whole_photo=whole)
    tiles, wholes, labels = [], [], []
    for sample in read_dataset(args.data, split=args.split):
        image = read_image(sample.image)
        tiles.append(classify_tiles(raw, image, ExplanationSettings())[3])
        wholes.append(whole_photo_probability(raw, image))
        labels.append(sample.label)
    print(f"{args.weights}, {args.split}: {len(labels)} photos, {sum(labels)} cracked; tiles' offset {tile_offset}")
    print("| whole-photo offset | balanced accuracy |\n|---|---|")
    first, last, step = args.offsets
    for offset in np.round(np.arange(first, last + step / 2, step), 2):
        _, score = fit_logit_offset(tiles, wholes, labels, offsets=np.array([offset]), tile_offset=tile_offset)
        print(f"| {offset:.2f} | {score:.3f} |")


if __name__ == "__main__":
    main()
