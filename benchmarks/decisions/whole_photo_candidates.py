"""Whole-photo models for the magnetic-tiles decision, compared on one split, alone and as a logit mean.

    .venv/bin/python -m benchmarks.decisions.whole_photo_candidates --split val WEIGHTS [WEIGHTS ...]
    .venv/bin/python -m benchmarks.decisions.whole_photo_candidates --smoke   # two shipped models, tiny data

Each candidate takes the place of the card's whole-photo model in
``weights/magnetic_tiles.pt``'s decision (``tile_and_whole``, the tiles at their
card's offset); its own offset is fitted on the split as ``calibrate`` fits it
(:func:`cracklib.run.evaluation.uncalibrated_decisions`). Prints, one JSON line per
candidate and one for the mean of their logits: the fitted offset, the
balanced accuracy at it, the AUC of the photo decision and of the whole-photo
probability alone. Choose on ``val``; report ``test``.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
from scipy.special import expit, logit
from sklearn.metrics import roc_auc_score

from benchmarks.common import ROOT, add_smoke, smoke_data
from cracklib.io import read_dataset
from cracklib.run import UncalibratedDecisions, uncalibrated_decisions
from cracklib.pipeline import load_classifier


def report(name: str, decisions: UncalibratedDecisions) -> dict:
    offset, balanced = decisions.fit()
    return {"model": name, "offset": offset, "balanced_accuracy": round(balanced, 4),
            "auc": round(roc_auc_score(decisions.labels, decisions.photo_probabilities(offset)), 4),
            "whole_auc": round(roc_auc_score(decisions.labels, decisions.wholes), 4)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", help="whole-photo weights files (one or more)")
    parser.add_argument("--weights", default="weights/magnetic_tiles.pt", help="the tile model's card")
    parser.add_argument("--data", default="../shared/data/magnetic_tiles")
    parser.add_argument("--split", default="val")
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # two shipped models as candidates (so the logit mean runs), a tiny synthetic folder
        args.data = str(smoke_data(["magnetic_tiles"], split=args.split, n=4) / "magnetic_tiles")
        args.candidates = args.candidates or [str(ROOT / "weights" / "whole_photo" / "magnetic_tiles.pt"),
                                              str(ROOT / "weights" / "magnetic_tiles.pt")]
    if not args.candidates:
        parser.error("the following arguments are required: candidates")
    samples = read_dataset(args.data, split=args.split)
    tile_model = load_classifier(args.weights)
    records = {path: uncalibrated_decisions(replace(tile_model, whole_photo=load_classifier(path)), samples)
               for path in args.candidates}
    for path, decisions in records.items():
        print(json.dumps(report(path, decisions)))
    if len(records) > 1:
        runs = list(records.values())
        wholes = np.clip([run.wholes for run in runs], 1e-7, 1 - 1e-7)  # float32 softmax saturates at 1
        mean = [float(p) for p in expit(logit(wholes).mean(axis=0))]
        print(json.dumps(report("logit mean", replace(runs[0], wholes=mean))))


if __name__ == "__main__":
    main()
