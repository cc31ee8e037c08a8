"""Soak test of the studio: many large uploads in a row, memory and temp disk watched (no browser).

    .venv/bin/python -m benchmarks.soak.soak [--uploads 50] [--height 3000] [--width 4000] [--cache-mb 1024]
        [--smoke]

Uploads ``--uploads`` different 12 MP photos (one synthetic crack photo with a
different pixel each time, so every upload is a new explanation) on the Segment
page through ``streamlit.testing.v1.AppTest``, changing the threshold and the
post-processing between uploads, with the explanation cache limited to
``--cache-mb``. After each upload it reads this process's resident memory and
the size of the cracklib files in the temp folder. Prints one JSON line: the
resident memory after warm-up (the first ``--warm-up`` uploads), its spread,
and the temp folder at start and end. ``--smoke``: three 320×256 uploads, one of warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, add_smoke

THRESHOLDS = ("gmm", "simple", "bmm", "percentile")
POSTS = ("none", "light", "paper")


def resident_mb() -> float:
    """This process's resident memory (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def temp_mb() -> float:
    """Bytes under the temp folder's cracklib_* entries, MB."""
    total = 0
    for entry in Path(tempfile.gettempdir()).glob("cracklib_*"):
        paths = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        total += sum(p.stat().st_size for p in paths if not p.is_symlink())
    return total / 2**20


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--cache-mb", type=int, default=1024)
    parser.add_argument("--warm-up", type=int, default=10)
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.uploads, args.height, args.width, args.warm_up = 3, 256, 320, 1
    os.environ["CRACKLIB_CACHE_MB"] = str(args.cache_mb)  # read when the studio makes its cache

    from streamlit.testing.v1 import AppTest

    from cracklib.run import png_bytes
    from cracklib.io import crack_image

    image, _ = crack_image((args.height, args.width), rng=1, max_width=3)
    temp_start = temp_mb()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900).run()
    from cracklib import studio
    rows = []
    for index in range(args.uploads):
        photo = image.copy()
        photo[index // args.width, index % args.width] ^= 1  # a different file: a new explanation
        start = time.perf_counter()
        at.file_uploader[0].set_value((f"photo_{index}.png", png_bytes(photo), "image/png")).run()
        threshold = next(s for s in at.sidebar.selectbox if s.label == "Threshold")
        threshold.set_value(THRESHOLDS[index % len(THRESHOLDS)]).run()
        post = next(s for s in at.sidebar.selectbox if s.label == "Post-processing")
        post.set_value(POSTS[index % len(POSTS)]).run()
        if at.exception:
            raise SystemExit(f"upload {index}: {at.exception}")
        cache = studio.explanation_cache()
        rows.append({"upload": index + 1, "seconds": round(time.perf_counter() - start, 1),
                     "resident_mb": round(resident_mb()), "temp_mb": round(temp_mb(), 1),
                     "cache_entries": len(cache), "cache_mb": round(cache.nbytes / 2**20)})
        print(json.dumps(rows[-1]), flush=True)
    steady = [row["resident_mb"] for row in rows[args.warm_up:]]
    print(json.dumps({
        "uploads": args.uploads, "megapixels": round(args.height * args.width / 1e6, 1), "cache_mb": args.cache_mb,
        "resident_mb_after_warm_up": {"min": min(steady), "max": max(steady)},
        "resident_spread": round(max(steady) / min(steady) - 1, 3),
        "resident_mb_first_upload": rows[0]["resident_mb"],
        "temp_mb": {"start": round(temp_start, 1), "end": round(temp_mb(), 1)},
        "seconds_per_upload": round(sum(row["seconds"] for row in rows) / len(rows), 1)}))


if __name__ == "__main__":
    main()
