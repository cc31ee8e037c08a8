"""The README's figure: a real road photo, its explanation heatmap and its crack mask, side by side.

Run from the repository root::

    .venv/bin/python docs/overview_figure.py

It segments the bundled CrackSC photo (``cracklib/samples/real/cracksc_136.jpg``, image 136 of CrackSC's
train split, MIT licence) with the bundled default model and the default settings, and writes
``docs/assets/overview.png``. The third panel paints the mask red on the photo and the ground-truth crack
pixels the mask missed green; its title gives the mask's F1 against that ground truth.
"""
from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image

from cracklib import load_classifier, read_image, read_mask, segment
from cracklib.io import DEMO_SAMPLE, heatmap_overlay, mask_overlay
from cracklib.measure import confusion

OUT = Path(__file__).resolve().parent / "assets" / "overview.png"


def main() -> None:
    photo_path, mask_path = DEMO_SAMPLE  # cracklib/samples/real/cracksc_136.jpg and its mask
    photo = read_image(photo_path)
    truth = read_mask(mask_path, shape=photo.shape[:2])
    result = segment(load_classifier(), photo)
    scores = confusion(result.mask, truth)
    f1 = 2 * scores.tp / max(2 * scores.tp + scores.fp + scores.fn, 1)

    panels = [
        (photo, f"photo (CrackSC 136)\ncrack probability {result.probability:.2f}"),
        (heatmap_overlay(photo, result.relevance), "heatmap (LRP)\nred: evidence for a crack"),
        (mask_overlay(photo, result.mask, truth=truth), f"mask (red), missed truth (green)\nF1 {f1:.2f} against the truth"),
    ]
    height, width = photo.shape[:2]
    figure = Figure(figsize=(3 * 2.6, 2.6 * height / width + 0.55))
    axes = figure.subplots(1, 3)
    for axis, (picture, title) in zip(axes, panels):
        axis.imshow(picture)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.tight_layout(pad=0.3)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.05)
    # A photo compresses badly as a true-colour PNG: a 192-colour palette keeps the file small.
    Image.open(buffer).convert("RGB").quantize(colors=192, dither=Image.Dither.NONE).save(OUT, optimize=True)
    print(f"{OUT}: crack probability {result.probability:.3f}, {result.severity.n_cracks} crack(s), "
          f"area {result.severity.area_px} px, F1 {f1:.3f} against the ground truth")


if __name__ == "__main__":
    main()
