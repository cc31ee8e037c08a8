"""Campaign throughput: photos per minute of ``cracklib batch`` for each engine, and peak memory per worker.

    .venv/bin/python -m benchmarks.results.batch [--photos 40] [--data-root ../shared/data] [--out docs/batch.md]
        [--smoke]

The same photos (the first ``--photos`` NHA12D photos of the manifest, 1920×1080,
or synthetic photos of that size without the data) go through ``run_campaign``
with the default pipeline in five variants, each in its own process and its own
output folder: ``local`` with torch's default threads and with one thread, and
``ray`` with one and two single-thread workers and with two workers sharing the
cores. The rate is photos / wall time of the whole ``run_campaign`` call: for
Ray that includes starting the actors and loading the model in each (Ray itself
is started before the clock). Peak memory per worker is the largest ``VmHWM``
(peak resident set, from ``/proc``) of the process that ran the photos.
``--smoke``: two small synthetic photos, ``local`` and one Ray worker (when Ray is installed).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import (ROOT, add_data_root, add_smoke, generated_by, smoke_out, temporary_folder,
                               write_markdown)

#: name → (engine, workers, threads per worker; None = torch's default).
VARIANTS = {
    "local": ("local", 1, None),
    "local, 1 thread": ("local", 1, 1),
    "ray, 1 worker × 1 thread": ("ray", 1, 1),
    "ray, 2 workers × 1 thread": ("ray", 2, 1),
}


def campaign_photos(data_root: Path, count: int, folder: Path, shape: tuple[int, int] = (1080, 1920)) -> Path:
    """A text file listing ``count`` photos: NHA12D ones when present, else synthetic ones of ``shape``
    (1920×1080)."""
    from cracklib.io import read_dataset

    listing = folder / "photos.txt"
    nha = data_root / "nha12d"
    if (nha / "manifest.csv").is_file():
        paths = [sample.image for sample in read_dataset(nha)][:count]
    else:
        from PIL import Image

        from cracklib.io import crack_image

        paths = []
        for i in range(count):
            path = folder / f"synthetic_{i:03d}.png"
            Image.fromarray(crack_image(shape, crack=i % 2 == 0, rng=i)[0]).save(path)
            paths.append(path)
    listing.write_text("\n".join(str(Path(path).resolve()) for path in paths) + "\n")
    return listing


def _peak_kib(pid: int) -> int:
    """Peak resident memory of a process (``VmHWM``, KiB), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class WorkerMemory(threading.Thread):
    """Polls the peak memory of Ray's photo workers (processes named after ``PhotoWorker``) while they run."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peaks: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    try:
                        command = (proc / "cmdline").read_bytes()
                    except OSError:
                        continue
                    if b"PhotoWorker" in command:
                        self.peaks[int(proc.name)] = max(self.peaks.get(int(proc.name), 0), _peak_kib(int(proc.name)))
            self.stop.wait(0.5)


def worker(args) -> None:
    """One variant in this process; prints one JSON line."""
    import os

    from cracklib.run import run_campaign

    engine, workers, threads = VARIANTS[args.variant]
    memory = None
    if engine == "ray":
        import ray

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        memory = WorkerMemory()
        memory.start()
    elif threads:
        import torch

        torch.set_num_threads(threads)
    start = time.perf_counter()
    summary = run_campaign(args.listing, args.campaign_out, engine=engine, workers=workers,
                           threads_per_worker=threads)
    seconds = time.perf_counter() - start
    if memory:
        memory.stop.set()
        memory.join()
        peaks = sorted(memory.peaks.values())
    else:
        peaks = [_peak_kib(os.getpid())]
    print(json.dumps({"variant": args.variant, "photos": summary.photos, "errors": summary.errors,
                      "seconds": seconds, "photos_per_minute": 60 * summary.done_now / seconds,
                      "peak_mb_per_worker": round(max(peaks) / 1024) if peaks else None,
                      "workers_seen": len(peaks)}))


def _ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    add_data_root(parser)
    parser.add_argument("--variants", nargs="+", default=None, choices=list(VARIANTS),
                        help="default: all (--smoke: local and one Ray worker)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "batch.md"))
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--listing", help=argparse.SUPPRESS)
    parser.add_argument("--campaign-out", help=argparse.SUPPRESS)
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.variant:
        return worker(args)
    shape = (1080, 1920)
    if args.variants is None:
        args.variants = list(VARIANTS)
        if args.smoke:
            args.variants = ["local"] + (["ray, 1 worker × 1 thread"] if _ray_installed() else [])
    if args.smoke:  # two small synthetic photos (never the data sets)
        args.photos, shape = min(args.photos, 2), (160, 224)
        args.data_root = str(temporary_folder("benchmark_smoke_data_"))  # no NHA12D there: synthetic photos
        args.out = smoke_out(args.out, True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        listing = campaign_photos(Path(args.data_root), args.photos, Path(folder), shape)
        source = "NHA12D" if "synthetic" not in listing.read_text() else f"synthetic {shape[1]}×{shape[0]}"
        for variant in args.variants:
            command = [sys.executable, "-m", __spec__.name, "--variant", variant, "--listing", str(listing),
                       "--campaign-out", str(Path(folder) / f"out{len(rows)}")]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                sys.exit(f"{variant} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{variant}: {rows[-1]['photos_per_minute']:.1f} photos/min, "
                  f"{rows[-1]['peak_mb_per_worker']} MB peak per worker", flush=True)
    rate = {row["variant"]: row["photos_per_minute"] for row in rows}
    lines = [
        "# Campaign throughput (`cracklib batch`)",
        "",
        generated_by(__spec__.name, f" --photos {args.photos}", smoke=args.smoke) + " "
        f"{rows[0]['photos']} {source} photos, default pipeline, {__import__('os').cpu_count()} CPU cores; "
        "each variant in its own process and output folder. Rates include starting the workers and loading "
        "the model (Ray itself is started before the clock).",
        "",
        "| engine | photos/min | wall time (s) | peak memory per worker (MB) | errors |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {row['variant']} | {row['photos_per_minute']:.1f} | {row['seconds']:.0f} | "
              f"{row['peak_mb_per_worker']} | {row['errors']} |" for row in rows]
    ratios = []
    if {"local", "ray, 2 workers × 1 thread"} <= rate.keys():
        ratios.append(f"Ray with two single-thread workers runs at "
                      f"{rate['ray, 2 workers × 1 thread'] / rate['local']:.2f}× the rate of `--engine local`.")
    if {"ray, 1 worker × 1 thread", "ray, 2 workers × 1 thread"} <= rate.keys():
        ratios.append(f"Two single-thread Ray workers run at "
                      f"{rate['ray, 2 workers × 1 thread'] / rate['ray, 1 worker × 1 thread']:.2f}× the rate of one.")
    if {"local, 1 thread", "ray, 1 worker × 1 thread"} <= rate.keys():
        ratios.append(f"One single-thread Ray worker runs at "
                      f"{rate['ray, 1 worker × 1 thread'] / rate['local, 1 thread']:.2f}× the rate of "
                      "`--engine local` with one thread (Ray's own cost per photo).")
    lines += ["", *ratios, ""]
    write_markdown(args.out, lines, final_newline=False)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
