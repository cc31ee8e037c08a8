"""Studio latency on a large photo, through streamlit.testing.v1.AppTest (no browser).

    .venv/bin/python -m benchmarks.speed.app_latency [--height 3000] [--width 4000] [--format png|jpeg]
        [--think-seconds 1] [--smoke]

Uploads a synthetic crack photo of the given size on the Segment page and times
the first result (tiling, explanation, threshold, severity, page), then a
threshold change, a post-processing change, a change back to the default
threshold (these two reuse a kept cut) and a change to the other mixture
threshold (no new explanation in any; each change ``--think-seconds`` after the
page before it completed, as a user reading the result), each at three moments: until the page has
drawn the updated mask with its probability and area, until it has filled in
the severity metrics (crack count, length, widths; the page notes both moments,
``studio.mark_page_event``), and until the page run ends (the heatmap, the
crack table and the downloads come last). The photo goes up as a PNG (decoding it alone takes about 0.9 s at
12 MP) or, as cameras write them, as a JPEG (quality 90). Prints one JSON line.
``--smoke``: a 320×256 photo, no pause between changes.
"""
from __future__ import annotations

import argparse
import io
import json
import time
from PIL import Image
from streamlit.testing.v1 import AppTest, local_script_runner

from benchmarks.common import ROOT, add_smoke
from cracklib.run import png_bytes
from cracklib.io import crack_image


def _wait_gently(runner, timeout: float = 3) -> None:
    """AppTest's wait for a page run, polling every 10 ms instead of every millisecond.

    AppTest's own loop wakes a thousand times a second while the page runs; on
    two cores that costs the page's threads their time (the explanation's
    attribution took 2.1 s under it against 1.2 s alone). A server has no such
    loop. The page's own clock marks (``studio.mark_page_event``) are exact
    either way; a run's end is seen up to 10 ms late.
    """
    start = time.time()
    while time.time() - start < timeout:
        time.sleep(0.01)
        if runner.script_stopped():
            return
    _wait_at_once(runner, 0)  # AppTest's own error on a timeout


_wait_at_once = local_script_runner.require_widgets_deltas
local_script_runner.require_widgets_deltas = _wait_gently


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--format", choices=["png", "jpeg"], default="png")
    parser.add_argument("--think-seconds", type=float, default=1.0,
                        help="pause before each change, as a user reading the page (the studio cuts the other "
                             "mixture threshold in the background meanwhile); 0 changes at once")
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.height, args.width, args.think_seconds = 256, 320, 0.0
    image, _ = crack_image((args.height, args.width), rng=1, max_width=3)
    if args.format == "png":
        data = png_bytes(image)
    else:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900).run()
    from cracklib.studio.widgets import PAGE_EVENTS

    default_threshold = next(s for s in at.sidebar.selectbox if s.label == "Threshold").value
    upload = time.perf_counter()
    at.file_uploader[0].set_value((f"photo.{args.format}", data, f"image/{args.format}")).run()
    first, first_events = time.perf_counter() - upload, dict(at.session_state[PAGE_EVENTS])
    if at.exception:
        raise SystemExit(str(at.exception))
    metrics = {m.label: m.value for m in at.metric}
    figures = {"megapixels": round(args.height * args.width / 1e6, 1), "format": args.format,
               "first_mask_s": round(first_events["mask drawn"] - upload, 2),
               "first_metrics_s": round(first_events["metrics drawn"] - upload, 2),
               "first_result_s": round(first, 2)}
    # A new threshold (cut for the first time), a post-processing change (the cut is reused), the default
    # threshold again (its cut was kept from the first result), and the other mixture threshold (a mixture's
    # cut is fitted for the first time: the slowest change).
    other_mixture = "bmm" if default_threshold != "bmm" else "gmm"
    for change, label, value in (("threshold_change", "Threshold", "simple"),
                                 ("post_change", "Post-processing", "none"),
                                 ("back_to_default_threshold", "Threshold", default_threshold),
                                 ("new_mixture_threshold", "Threshold", other_mixture)):
        time.sleep(args.think_seconds)
        start = time.perf_counter()
        next(s for s in at.sidebar.selectbox if s.label == label).set_value(value).run()
        seconds, events = time.perf_counter() - start, dict(at.session_state[PAGE_EVENTS])
        if at.exception:
            raise SystemExit(str(at.exception))
        figures.update({f"{change}_mask_s": round(events["mask drawn"] - start, 2),
                        f"{change}_metrics_s": round(events["metrics drawn"] - start, 2),
                        f"{change}_s": round(seconds, 2)})
    print(json.dumps({**figures, "think_seconds": args.think_seconds, "tiles_explained": metrics["Tiles explained"]}))


if __name__ == "__main__":
    main()
