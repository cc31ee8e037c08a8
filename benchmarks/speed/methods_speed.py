"""Seconds per image of every attribution method on one model, measured side by side.

    .venv/bin/python -m benchmarks.speed.methods_speed [--weights weights/default.pt] [--batch 1] [--repeats 5]
        [--smoke]

Prints a table (ms per image, ratio to the plain gradient) and, last, one JSON line. Methods that need another
kind of model (``bcos`` a B-cos network, ``nn_explainer`` an explainer network) are skipped when the weights are
not one, and named in the JSON's ``skipped``. ``--smoke``: one repeat.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from benchmarks.common import add_smoke
from cracklib.errors import CrackInputError
from cracklib.explain import METHODS, AttributionSettings, attribute
from cracklib.pipeline import DEFAULT_WEIGHTS, load_classifier


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats = 1
    classifier = load_classifier(args.weights)
    size = classifier.card.input_size
    torch.manual_seed(0)
    inputs = torch.randn(args.batch, 3, size, size, device=classifier.device)
    settings = AttributionSettings(normalization=classifier.card.normalization, rules="seibold",
                                   baseline="damage_free_sample" if classifier.damage_free else "black",
                                   damage_free=classifier.damage_free)
    rows, skipped = {}, {}
    for method in ["saliency"] + [m for m in METHODS if m != "saliency"]:
        try:
            attribute(classifier.model, inputs, method, settings)  # warm-up
        except CrackInputError as error:  # a method for another kind of model
            skipped[method] = str(error)
            continue
        start = time.perf_counter()
        for _ in range(args.repeats):
            attribute(classifier.model, inputs, method, settings)
        rows[method] = (time.perf_counter() - start) / args.repeats / args.batch * 1000
    gradient = rows["saliency"]
    print(f"{'method':<22}{'ms/image':>10}{'× gradient':>12}")
    for method, ms in rows.items():
        print(f"{method:<22}{ms:>10.1f}{ms / gradient:>12.1f}")
    print(json.dumps({"weights": args.weights, "batch": args.batch, "input_size": size,
                      "threads": torch.get_num_threads(), "ms_per_image": {k: round(v, 2) for k, v in rows.items()},
                      "skipped": skipped}))


if __name__ == "__main__":
    main()
