"""GPU check: a few self-training steps and one photo segmented on CUDA, against the CPU.

    .venv/bin/python -m benchmarks.speed.gpu_check [--steps 20] [--side 2048] [--smoke]

Prepared for a short loan of a GPU machine (under 5 minutes in all). It

1. trains the distilled U-Net's architecture for ``--steps`` steps on synthetic crops from the same seed on the
   CPU and on CUDA, and compares the losses step by step (the same within 2 % relative: kernels differ in the
   last digits, and the differences compound);
2. segments one synthetic photo of ``--side`` × ``--side`` px with the shipped distilled network on both
   devices, and compares the probability maps (max abs difference ≤ 1e-3) and the masks at 0.5 (IoU ≥ 0.99);
3. prints seconds per megapixel on each device, and one JSON line with everything; exits 1 if the devices
   disagree beyond those tolerances.

Without CUDA it says so and exits 0 (``--smoke`` runs the CPU half on a tiny photo: the test suite's check;
``tests/test_benchmarks.py`` runs the whole check where a GPU is present and is skipped elsewhere). The figures
of a run on a lent GPU go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from cracklib.io import crack_image
from cracklib.nets import load_segmenter
from cracklib.pipeline import predict_map, segmenter_path
from cracklib.train import SegmenterConfig, train_segmenter


def _crops(n: int, side: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic crack crops and their exact masks as targets."""
    rng = np.random.default_rng(seed)
    pairs = [crack_image((side, side), rng=rng) for _ in range(n)]
    return np.stack([image for image, _ in pairs]), np.stack([mask.astype(np.uint8) for _, mask in pairs])


def train_losses(device: str, crops: np.ndarray, targets: np.ndarray, epochs: int) -> tuple[list[float], float]:
    """Each epoch's training loss of the distilled U-Net's architecture (one batch an epoch), and the seconds."""
    config = SegmenterConfig(width=0.125, crop=crops.shape[1], epochs=epochs, batch_size=len(crops), device=device,
                             augment="strong")
    start = time.perf_counter()
    _, history = train_segmenter(crops, targets, config=config)
    return [h.train_loss for h in history], time.perf_counter() - start


def segment_seconds(device: str, image: np.ndarray) -> tuple[np.ndarray, float]:
    model, card = load_segmenter(segmenter_path("distilled"), device=device)
    predict_map(model, image[:256, :256], card.normalization)  # warm-up (CUDA context, kernels)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    probability = predict_map(model, image, card.normalization)
    if device == "cuda":
        torch.cuda.synchronize()
    return probability, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--smoke", action="store_true", help="the CPU half on a tiny photo")
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.side = 2, 256
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if len(devices) == 1 and not args.smoke:
        print(json.dumps({"cuda": False, "note": "no CUDA device here: nothing to compare"}))
        return 0
    crops, targets = _crops(16, 128)
    photo, _ = crack_image((args.side, args.side), rng=np.random.default_rng(1))
    report = {"cuda": "cuda" in devices, "steps": args.steps, "photo_mp": args.side ** 2 / 1e6}
    losses, maps = {}, {}
    for device in devices:
        losses[device], report[f"train_s_{device}"] = train_losses(device, crops, targets, args.steps)
        maps[device], seconds = segment_seconds(device, photo)
        report[f"s_per_mp_{device}"] = round(seconds / report["photo_mp"], 4)
    if "cuda" in devices:
        relative = [abs(a - b) / max(abs(a), 1e-8) for a, b in zip(losses["cpu"], losses["cuda"])]
        cpu_mask, gpu_mask = maps["cpu"] >= 0.5, maps["cuda"] >= 0.5
        union = np.count_nonzero(cpu_mask | gpu_mask)
        report.update(max_loss_rel_diff=round(max(relative), 5),
                      max_map_abs_diff=float(np.abs(maps["cpu"] - maps["cuda"]).max()),
                      mask_iou=1.0 if union == 0 else np.count_nonzero(cpu_mask & gpu_mask) / union)
        report["ok"] = (report["max_loss_rel_diff"] <= 0.02 and report["max_map_abs_diff"] <= 1e-3
                        and report["mask_iou"] >= 0.99)
        report["speedup_segment"] = round(report["s_per_mp_cpu"] / report["s_per_mp_cuda"], 1)
    else:
        report["losses_cpu"] = [round(v, 4) for v in losses["cpu"]]
    print(json.dumps(report))
    return 0 if report.get("ok", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
