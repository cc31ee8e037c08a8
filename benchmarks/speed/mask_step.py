"""Where a threshold change and the first result go on a 12 MP photo, step by step, outside the app.

    .venv/bin/python -m benchmarks.speed.mask_step [--height 3000] [--width 4000] [--repeats 3] [--smoke]

The same synthetic crack photo as ``benchmarks/speed/app_latency.py``. Times, each the
median of ``--repeats`` runs, side by side in one process:

- classifying every tile in float (the int8 screen off; ``benchmarks/speed/int8_screening.py``
  times it) at several batch sizes (``ExplanationSettings.batch_size``)
  with the scoring graph the pipeline uses (``cracklib.nets.models.scoring_graph``),
  and at the default batch size with the eager channels_last model it replaces;
- the mask step of a threshold change with the default settings
  (``segment_explanation``: threshold and refinement, post-processing) and its
  severity (``SegmentationResult.severity``), with the photo's darkness kept
  between changes (``refine.DarknessMap``) as the Segment page keeps it, and
  the part of its threshold step that sizes the darkness square on the cut's
  band (``refine.band_darkness_width``, the default ``darkness_width="per_photo"``);
- the refinement's hysteresis: ``cracklib.mask.refine.hysteresis_threshold``
  against scikit-image's ``apply_hysteresis_threshold`` on the same map;
- the paper's 25×25 closing and the area opening on the final mask:
  cracklib's (OpenCV's kernels, the area opening block by block near the
  mask) against scikit-image's, the same pixels;
- the skeleton of the final mask (on its bounding box, as severity takes it):
  ``cracklib.mask.morphology.skeletonize`` against scikit-image's, the same pixels;
- the mixtures' 5×5 mean filter of the relevance: ``morphology.box_mean``
  against scipy's ``uniform_filter``.

Prints a table and, last, one JSON line. ``--smoke``: a 320×256 photo, one repeat, batch 16.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import numpy as np
from skimage.filters import apply_hysteresis_threshold
from scipy import ndimage
from skimage.morphology import closing as skimage_closing, disk, remove_small_objects, skeletonize

from benchmarks.common import add_smoke
from cracklib.mask import morphology
from cracklib.pipeline import classify_tiles, cut_explanation, explain, load_classifier, segment_explanation
from cracklib.mask import drop_small_components
from cracklib.mask import DarknessMap, band_darkness_width, darkness, hysteresis_threshold
from cracklib.pipeline import ExplanationSettings, MaskSettings
from cracklib.io import crack_image
from cracklib.tiling import bounding_box, map_near_mask


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.height, args.width, args.repeats, args.batch_sizes = 256, 320, 1, [16]
    image, _ = crack_image((args.height, args.width), rng=1, max_width=3)
    classifier = load_classifier()
    # Float scoring only: the int8 screen of large photos is timed by benchmarks/speed/int8_screening.py.
    settings = ExplanationSettings(screen_from_tiles=None)
    times: dict[str, float] = {}
    for batch_size in args.batch_sizes:
        times[f"classify tiles, batch {batch_size}"] = _median_seconds(
            lambda: classify_tiles(classifier, image, replace(settings, batch_size=batch_size)), args.repeats)
    eager = replace(classifier)
    eager.scoring_model = eager.model  # the cached property, set to the eager model
    side_by_side = {"scoring graph": [], "eager model": []}  # alternated, so both meet the same machine load
    for _ in range(args.repeats):
        for name, model in (("scoring graph", classifier), ("eager model", eager)):
            side_by_side[name].append(_median_seconds(lambda: classify_tiles(model, image, settings), 1))
    for name, seconds in side_by_side.items():
        times[f"classify tiles, batch {settings.batch_size}, {name} (alternated)"] = statistics.median(seconds)
    explanation = explain(classifier, image, settings)
    mask_settings = MaskSettings()
    kept = DarknessMap(image)
    segment_explanation(explanation, mask_settings, photo=image, darkness=kept).severity  # noqa: B018 (first result)

    def threshold_change():
        result = segment_explanation(explanation, replace(mask_settings, threshold="simple"), photo=image,
                                     darkness=kept)
        result.severity  # noqa: B018  (the metrics the page shows)
        return result

    steps = [threshold_change().timings for _ in range(args.repeats)]
    for step in ("threshold", "postprocess", "severity"):
        times[f"threshold change: {step}"] = round(statistics.median(s[step] for s in steps), 3)
    times["threshold change: all"] = _median_seconds(threshold_change, args.repeats)
    band = cut_explanation(explanation, replace(mask_settings, threshold="simple", refine="none")).mask
    times["threshold change: sizing the darkness square (part of threshold)"] = _median_seconds(
        lambda: band_darkness_width(band), args.repeats)
    result = threshold_change()
    dark = np.where(result.mask, darkness(image), 0)
    level = float(np.percentile(dark[result.mask], 60)) if result.mask.any() else 1.0
    for name, function in (("skimage", apply_hysteresis_threshold), ("cracklib", hysteresis_threshold)):
        times[f"hysteresis, {name}"] = _median_seconds(lambda: function(dark, 0.5 * level, level), args.repeats)
    same = bool(np.array_equal(apply_hysteresis_threshold(dark, 0.5 * level, level),
                               hysteresis_threshold(dark, 0.5 * level, level)))
    footprint = morphology.round_footprint(12)
    near = {"cracklib": lambda window: morphology.closing(window, footprint),
            "skimage": lambda window: skimage_closing(window, disk(12, decomposition="crosses"))}
    closed = {}
    for name, function in near.items():
        times[f"25x25 closing near the mask, {name}"] = _median_seconds(
            lambda: map_near_mask(function, result.mask, result.mask, margin=26, dtype=bool), args.repeats)
        closed[name] = map_near_mask(function, result.mask, result.mask, margin=26, dtype=bool)
    times["area opening, cracklib (blocks near the mask)"] = _median_seconds(
        lambda: drop_small_components(closed["cracklib"], 50), args.repeats)
    times["area opening, OpenCV on the whole photo"] = _median_seconds(
        lambda: morphology.drop_small_components(closed["cracklib"], 50), args.repeats)
    times["area opening, skimage"] = _median_seconds(
        lambda: remove_small_objects(closed["cracklib"], max_size=49, connectivity=2), args.repeats)
    same_morphology = bool(np.array_equal(closed["cracklib"], closed["skimage"]) and np.array_equal(
        drop_small_components(closed["cracklib"], 50),
        remove_small_objects(closed["cracklib"], max_size=49, connectivity=2)))
    box = bounding_box(closed["cracklib"])
    for name, function in (("cracklib", morphology.skeletonize), ("skimage", skeletonize)):
        times[f"skeleton of the mask's box, {name}"] = _median_seconds(lambda: function(closed["cracklib"][box]),
                                                                        args.repeats)
    same_morphology &= bool(np.array_equal(morphology.skeletonize(closed["cracklib"][box]),
                                           skeletonize(closed["cracklib"][box])))
    relevance = explanation.relevance
    times["5x5 mean filter of the relevance, cracklib (OpenCV)"] = _median_seconds(
        lambda: morphology.box_mean(relevance, 5), args.repeats)
    times["5x5 mean filter of the relevance, scipy"] = _median_seconds(
        lambda: ndimage.uniform_filter(relevance.astype(np.float64), 5), args.repeats)
    width = max(len(name) for name in times)
    print(f"{args.height}x{args.width} px, {explanation.n_explained} of {explanation.n_tiles} tiles explained")
    for name, seconds in times.items():
        print(f"{name:<{width}}  {seconds:7.3f} s")
    print(f"hysteresis masks equal: {same}; closing, area opening and skeleton masks equal: {same_morphology}")
    print(json.dumps({"megapixels": round(args.height * args.width / 1e6, 1), "seconds": times,
                      "hysteresis_equal": same, "morphology_equal": same_morphology}))


if __name__ == "__main__":
    main()
