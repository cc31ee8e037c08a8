"""What a wider or larger classifier costs on this machine: training and tiled-explanation time.

    .venv/bin/python -m benchmarks.speed.model_cost [--threads 2] [--smoke]

For each candidate (architecture, width, input size), measured side by side in one
run on random inputs: milliseconds per training example (channels_last, batch 32,
AdamW, batch norm as trained) and, for the shipped batch-norm-free form, the
milliseconds per tile to classify and to explain with the fast LRP engine
(batch 16), turned into seconds per megapixel of a photo cut into tiles with 25 %
overlap (every tile classified, one in ``--explained`` explained). Prints a
markdown table and, last, one JSON line. The candidates and the measuring are in ``benchmarks/common.py``
(``benchmarks/results/results.py`` reports them too). ``--smoke``: two small candidates, one repeat.
"""
from __future__ import annotations

import argparse
import json

import torch

from benchmarks.common import CANDIDATES, SMOKE_CANDIDATES, add_smoke, measure, seconds_per_megapixel


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--explained", type=float, default=4.0,
                        help="one tile in this many is explained (the gate passes it)")
    add_smoke(parser)
    args = parser.parse_args(argv)
    candidates = SMOKE_CANDIDATES if args.smoke else CANDIDATES
    if args.smoke:
        args.repeats = 1
    torch.set_num_threads(args.threads)
    rows = []
    print("| model | width | input | parameters (M) | weights (MB) | train ms/example | classify ms/tile "
          "| LRP ms/tile | s/MP tiled |\n|---|---|---|---|---|---|---|---|---|")
    for arch, width, size in candidates:
        row = measure(arch, width, size, args.repeats)
        row["seconds_per_mp"] = seconds_per_megapixel(row, size, explained=args.explained)
        rows.append(row)
        print(f"| {arch} | {width} | {size} | {row['parameters_m']} | {row['weights_mb']} | "
              f"{row['train_ms_per_example']} | {row['classify_ms_per_tile']} | {row['explain_ms_per_tile']} | "
              f"{row['seconds_per_mp']} |", flush=True)
    print(json.dumps({"threads": args.threads, "rows": rows}))


if __name__ == "__main__":
    main()
