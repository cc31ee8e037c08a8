"""How long the Compare page's faithfulness section takes: one report per method on a 2 MP photo.

    .venv/bin/python -m benchmarks.speed.faithfulness [--height 1200] [--width 1600] [--smoke]

A synthetic crack photo (as ``benchmarks/speed/mask_step.py``), explained by the default model with the four
methods of issue 43's target (LRP ``epsilon_gamma_box``, DeepLift, Integrated Gradients, LRP
``epsilon_plus_flat``); then :func:`cracklib.run.faithfulness_report` for each, with the defaults the page uses
(at most 8 tiles, the randomisation test on 4), timed one after the other as the page computes them. The
target: the first method's report within about 30 s on two cores, all four about 30 s. Prints one line per
method and, last, one JSON line. ``--smoke``: a 320×256 photo, the first two methods.
"""
from __future__ import annotations

import argparse
import json
import time

from benchmarks.common import add_smoke
from cracklib.io import crack_image
from cracklib.pipeline import ExplanationSettings, explain, load_classifier, method_label
from cracklib.run import faithfulness_report

METHODS = (ExplanationSettings(method="lrp", rules="epsilon_gamma_box"), ExplanationSettings(method="deeplift"),
           ExplanationSettings(method="integrated_gradients"),
           ExplanationSettings(method="lrp", rules="epsilon_plus_flat"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=1200)
    parser.add_argument("--width", type=int, default=1600)
    add_smoke(parser)
    args = parser.parse_args(argv)
    methods = METHODS[:2] if args.smoke else METHODS
    if args.smoke:
        args.height, args.width = 256, 320
    classifier = load_classifier()
    image, _ = crack_image((args.height, args.width), rng=1, max_width=3)
    rows = []
    for settings in methods:
        explanation = explain(classifier, image, settings)
        start = time.perf_counter()
        report = faithfulness_report(classifier, image, explanation)
        seconds = time.perf_counter() - start
        rows.append({"method": method_label(settings), "seconds": round(seconds, 2),
                     "tiles": len(report.tiles), "explained_tiles": explanation.n_explained,
                     "skipped": report.skipped})
        print(f"{rows[-1]['method']:32s} {seconds:6.1f} s  ({len(report.tiles)} of {explanation.n_explained} "
              "explained tiles)")
    total = round(sum(row["seconds"] for row in rows), 2)
    print(json.dumps({"photo": [args.height, args.width], "first_s": rows[0]["seconds"], "total_s": total,
                      "methods": rows}))


if __name__ == "__main__":
    main()
