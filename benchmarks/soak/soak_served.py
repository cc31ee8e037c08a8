"""Soak test of the served studio: `streamlit run app.py` driven by a real browser, the server's memory watched.

    .venv/bin/python -m benchmarks.soak.soak_served [--uploads 12] [--height 3000] [--width 4000]
        [--cache-mb 1024] [--smoke]

The AppTest soak (benchmarks/soak/soak.py) runs the pages in its own process; this one
measures what a deployment sees. It starts the server with the explanation cache
limited to ``--cache-mb``, opens the Segment page in Debian's Chromium
(Playwright), and for each of ``--uploads`` different 12 MP photos uploads it,
then changes the threshold twice. After each photo it reads the server's
resident memory (``VmRSS`` of the server process, from ``/proc``). Prints one
JSON line per photo and a summary: memory after the warm-up, its spread.
Needs ``/usr/bin/chromium`` (``.ci/run`` installs it). ``--smoke``: two 320×256 uploads, one of warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.common import ROOT, add_smoke

CHROMIUM = "/usr/bin/chromium"
THRESHOLDS = ("simple", "bmm", "gmm", "otsu")


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def wait_for_run(page, timeout=900_000):
    """As Streamlit's own e2e tests: wait until the app element says the script is not running."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar selectbox labelled ``label``."""
    box = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(has_text=label)
    box.get_by_role("combobox").first.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_run(page)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=12)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--cache-mb", type=int, default=1024)
    parser.add_argument("--warm-up", type=int, default=4)
    parser.add_argument("--port", type=int, default=8599)
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.uploads, args.height, args.width, args.warm_up = 2, 256, 320, 1

    from playwright.sync_api import sync_playwright

    from cracklib.run import png_bytes
    from cracklib.io import crack_image

    image, _ = crack_image((args.height, args.width), rng=1, max_width=3)
    folder = Path(tempfile.mkdtemp(prefix="soak_served_"))
    environment = {**os.environ, "CRACKLIB_CACHE_MB": str(args.cache_mb)}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(args.port),
                               "--server.address", "127.0.0.1"], cwd=ROOT, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    rows = []
    try:
        deadline = time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
            if time.time() > deadline:
                raise SystemExit("streamlit did not start")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(url)
            page.wait_for_selector("[data-testid='stMetric']", timeout=300_000)
            wait_for_run(page)
            started_mb = resident_mb(server.pid)
            for index in range(args.uploads):
                photo = image.copy()
                photo[index // args.width, index % args.width] ^= 1  # a different file: a new explanation
                path = folder / f"photo_{index}.png"
                path.write_bytes(png_bytes(photo))
                start = time.perf_counter()
                page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(path))
                page.get_by_role("heading", name=path.name).wait_for(timeout=900_000)
                wait_for_run(page)
                for step in range(2):
                    choose(page, "Threshold", THRESHOLDS[(index + step) % len(THRESHOLDS)])
                path.unlink()
                rows.append({"upload": index + 1, "seconds": round(time.perf_counter() - start, 1),
                             "server_resident_mb": round(resident_mb(server.pid))})
                print(json.dumps(rows[-1]), flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    steady = [row["server_resident_mb"] for row in rows[args.warm_up:]] or [rows[-1]["server_resident_mb"]]
    print(json.dumps({"uploads": args.uploads, "megapixels": round(args.height * args.width / 1e6, 1),
                      "cache_mb": args.cache_mb, "server_resident_mb_at_start": round(started_mb),
                      "server_resident_mb_after_warm_up": {"min": min(steady), "max": max(steady)},
                      "resident_spread": round(max(steady) / min(steady) - 1, 3)}))


if __name__ == "__main__":
    main()
