"""Studio latency on a large photo, through streamlit.testing.v1.AppTest (no browser).

    .venv/bin/python benchmarks/app_latency.py [--height 3000] [--width 4000]

Uploads a synthetic crack photo of the given size on the Segment page and times
the first result (tiling, explanation, threshold, severity, page) and a
threshold change (no new explanation). Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from streamlit.testing.v1 import AppTest

from cracklib.export import png_bytes
from cracklib.synthetic import crack_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--width", type=int, default=4000)
    args = parser.parse_args()
    image, _ = crack_image((args.height, args.width), rng=1, max_width=3)
    data = png_bytes(image)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900).run()
    start = time.perf_counter()
    at.file_uploader[0].set_value(("photo.png", data, "image/png")).run()
    first = time.perf_counter() - start
    if at.exception:
        raise SystemExit(str(at.exception))
    metrics = {m.label: m.value for m in at.metric}
    start = time.perf_counter()
    next(s for s in at.sidebar.selectbox if s.label == "Threshold").set_value("simple").run()
    change = time.perf_counter() - start
    print(json.dumps({"megapixels": round(args.height * args.width / 1e6, 1), "first_result_s": round(first, 1),
                      "threshold_change_s": round(change, 1), "tiles_explained": metrics["Tiles explained"]}))


if __name__ == "__main__":
    main()
