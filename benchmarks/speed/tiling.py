"""Tiled explanation of a 24 MP photo: seconds per megapixel and peak memory, gated vs every tile,
against the segmentation networks (``unet``, ``distilled``: one forward per tile, no classifier).

    .venv/bin/python -m benchmarks.speed.tiling [--weights weights/default.pt] [--data-root ../shared/data]
        [--method lrp] [--rules montavon] [--smoke]

The photo is assembled from 4×3 real NHA12D pavement photos (1920×1080 each,
5760×4320 = 24.9 MP) when ``../shared/data/nha12d`` is there, else from synthetic
crack images of the same size. Each variant runs in its own process so its peak
resident memory (``ru_maxrss``) is its own. Prints a table and, last, one JSON line.
``--smoke``: a 2×1 photo of small synthetic images (never the data sets).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT, add_data_root, add_smoke

#: name → (method or None for ``--method``, gate).
VARIANTS = {"gated": (None, 0.5), "every tile": (None, 0.0), "unet": ("unet", 0.0), "distilled": ("distilled", 0.0)}


def assemble_photo(data_root: Path, *, rows: int = 3, cols: int = 4, smoke: bool = False):
    """A 24.9 MP uint8 photo: NHA12D photos side by side (or synthetic ones without the data); with ``smoke``,
    two small synthetic images side by side."""
    import numpy as np

    from cracklib.io import read_image
    from cracklib.io import crack_image

    if smoke:
        rows, cols = 1, 2
        tiles = [crack_image((192, 256), crack=i % 3 == 0, rng=i)[0] for i in range(rows * cols)]
        source = f"{rows * cols} synthetic 256x192 images"
        return np.concatenate(tiles, axis=1), source
    paths = sorted((data_root / "nha12d" / "images").glob("*.jpg"))[: rows * cols]
    if len(paths) == rows * cols:
        tiles, source = [read_image(path) for path in paths], f"{rows * cols} NHA12D photos"
    else:
        tiles = [crack_image((1080, 1920), crack=i % 3 == 0, rng=i)[0] for i in range(rows * cols)]
        source = f"{rows * cols} synthetic 1920x1080 images"
    grid = [np.concatenate(tiles[r * cols:(r + 1) * cols], axis=1) for r in range(rows)]
    return np.concatenate(grid, axis=0), source


def worker(args) -> None:
    """One variant in this process; prints one JSON line."""
    import torch

    from cracklib.pipeline import PipelineConfig, load_classifier, segment

    torch.set_num_threads(args.threads)
    photo, source = assemble_photo(Path(args.data_root), smoke=args.smoke)
    classifier = load_classifier(args.weights)
    method, gate = VARIANTS[args.variant]
    network = method is not None
    config = PipelineConfig.of(method=method or args.method, rules=args.rules, gate=gate,
                               **({"threshold": "probability"} if network else {}))
    start = time.perf_counter()
    result = segment(classifier, photo, config)
    result.severity  # measured on first use: part of the pipeline's time
    seconds = time.perf_counter() - start
    megapixels = photo.shape[0] * photo.shape[1] / 1e6
    print(json.dumps({"source": source, "megapixels": round(megapixels, 2), "gate": gate,
                      "seconds": round(seconds, 2), "seconds_per_mp": round(seconds / megapixels, 3),
                      "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
                      "tiles": result.n_tiles, "tiles_explained": result.n_explained,
                      "share_explained": round(result.n_explained / result.n_tiles, 4),
                      "crack_area_px": result.severity.area_px,
                      "timings_s": {k: round(v, 2) for k, v in result.timings.items()}}))


def main(argv=None) -> None:
    from cracklib.pipeline import DEFAULT_WEIGHTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    add_data_root(parser)
    parser.add_argument("--method", default="lrp")
    parser.add_argument("--rules", default="montavon")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)  # worker only
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.variant is not None:
        return worker(args)
    from cracklib.pipeline import method_available

    results = {}
    for name, (method, _) in VARIANTS.items():
        if method is not None and not method_available(method):
            continue
        command = [sys.executable, "-m", __spec__.name, "--weights", args.weights, "--data-root", args.data_root,
                   "--method", args.method, "--rules", args.rules, "--threads", str(args.threads),
                   "--variant", name] + (["--smoke"] if args.smoke else [])
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
    first = next(iter(results.values()))
    print(f"{first['source']}: {first['megapixels']} MP, {first['tiles']} tiles of "
          f"{Path(args.weights).name}, {args.method} ({args.rules}), {args.threads} threads")
    stages = sorted({stage for row in results.values() for stage in row["timings_s"]})
    print(f"{'variant':<12} {'s/MP':>7} {'total s':>8} {'peak GB':>8} {'explained':>10}  "
          + " ".join(f"{stage:>11}" for stage in stages))
    for name, row in results.items():
        print(f"{name:<12} {row['seconds_per_mp']:>7.2f} {row['seconds']:>8.1f} {row['peak_rss_gb']:>8.2f} "
              f"{row['share_explained']:>9.1%}  "
              + " ".join(f"{row['timings_s'].get(stage, 0.0):>10.1f}s" for stage in stages))
    gated, every = results["gated"], results["every tile"]
    print(json.dumps({"megapixels": first["megapixels"], "tiles": first["tiles"],
                      "gated_seconds_per_mp": gated["seconds_per_mp"],
                      "every_tile_seconds_per_mp": every["seconds_per_mp"],
                      "gated_peak_rss_gb": gated["peak_rss_gb"], "every_tile_peak_rss_gb": every["peak_rss_gb"],
                      "share_explained": gated["share_explained"],
                      "speedup": round(every["seconds"] / gated["seconds"], 2),
                      **{f"{name}_seconds_per_mp": row["seconds_per_mp"] for name, row in results.items()
                         if VARIANTS[name][0] is not None}}))


if __name__ == "__main__":
    main()
