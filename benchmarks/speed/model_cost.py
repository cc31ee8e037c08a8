"""What a wider or larger classifier costs on this machine: training and tiled-explanation time.

    .venv/bin/python benchmarks/model_cost.py [--threads 2]

For each candidate (architecture, width, input size), measured side by side in one
run on random inputs: milliseconds per training example (channels_last, batch 32,
AdamW, batch norm as trained) and, for the shipped batch-norm-free form, the
milliseconds per tile to classify and to explain with the fast LRP engine
(batch 16), turned into seconds per megapixel of a photo cut into tiles with 25 %
overlap (every tile classified, one in ``--explained`` explained). Prints a
markdown table and, last, one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent

from cracklib.explain import AttributionSettings, attribute
from cracklib.nets import Normalization, build_model

CANDIDATES = [("vgg11_128", 0.25, 128), ("vgg11_128", 0.5, 128), ("vgg11_128", 1.0, 128),
              ("vgg11_128", 0.25, 192), ("vgg11_onefc", 0.25, 128)]


def _time(step, repeats: int) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def measure(arch: str, width: float, size: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = build_model(arch, width=width, input_size=size, batch_norm=True).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    batch = torch.rand(32, 3, size, size).contiguous(memory_format=torch.channels_last)
    target = torch.randint(0, 2, (32,))

    def train_step():
        loss = torch.nn.functional.cross_entropy(model(batch), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    train_ms = _time(train_step, repeats) / 32 * 1000
    shipped = build_model(arch, width=width, input_size=size).eval().to(memory_format=torch.channels_last)
    tiles = torch.rand(16, 3, size, size).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        classify_ms = _time(lambda: shipped(tiles), repeats) / 16 * 1000
    settings = AttributionSettings(normalization=Normalization(), rules="montavon")
    explain_ms = _time(lambda: attribute(shipped, tiles, "lrp", settings), repeats) / 16 * 1000
    parameters = sum(p.numel() for p in shipped.parameters())
    return {"arch": arch, "width": width, "size": size, "parameters_m": round(parameters / 1e6, 2),
            "weights_mb": round(parameters * 4 / 2**20, 1), "train_ms_per_example": round(train_ms, 1),
            "classify_ms_per_tile": round(classify_ms, 2), "explain_ms_per_tile": round(explain_ms, 2)}


def seconds_per_megapixel(row: dict, size: int, *, explained: float) -> float:
    """Tiles of ``size`` at 25 % overlap: every tile classified, one in ``explained`` explained."""
    tiles_per_mp = 1e6 / (size * 0.75) ** 2
    return round(tiles_per_mp * (row["classify_ms_per_tile"] + row["explain_ms_per_tile"] / explained) / 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--explained", type=float, default=4.0,
                        help="one tile in this many is explained (the gate passes it)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    print("| model | width | input | parameters (M) | weights (MB) | train ms/example | classify ms/tile "
          "| LRP ms/tile | s/MP tiled |\n|---|---|---|---|---|---|---|---|---|")
    for arch, width, size in CANDIDATES:
        row = measure(arch, width, size, args.repeats)
        row["seconds_per_mp"] = seconds_per_megapixel(row, size, explained=args.explained)
        rows.append(row)
        print(f"| {arch} | {width} | {size} | {row['parameters_m']} | {row['weights_mb']} | "
              f"{row['train_ms_per_example']} | {row['classify_ms_per_tile']} | {row['explain_ms_per_tile']} | "
              f"{row['seconds_per_mp']} |", flush=True)
    print(json.dumps({"threads": args.threads, "rows": rows}))


if __name__ == "__main__":
    main()
