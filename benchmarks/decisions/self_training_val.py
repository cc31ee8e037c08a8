"""Self-trained students against their teacher, the explanation masks (docs/decisions/0020).

    .venv/bin/python -m benchmarks.decisions.self_training_val --students STUDENT.pt [...] [--split val]
        [--gated] [--data-root ../shared/data] [--out docs/self_training_val.md]

The teacher is the default pipeline (each set explained by its own classifier where one is shipped:
``benchmarks.common.PER_SET_WEIGHTS``); each student is a segmentation network file, its map cut by the distilled
network's own mask step (``cracklib.pipeline.default_mask("distilled")``). Scored as
``benchmarks.decisions.segmenters_val``: F1 of the summed confusion over each set's photos with crack pixels
(magnetic tiles: groups crack and blowhole), photos whose truth covers more than 20 % left out. Seconds are the
whole pipeline per set, mask step included. ``--gated`` adds, for each student, its mask kept only inside the
tiles the teacher's classifier explained (an exploratory hybrid: both passes run, so its seconds are the sum).
The rule that reads this table is in the decision record.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    ROOT,
    SEGMENTER_SETS,
    add_data_root,
    add_smoke,
    generated_by,
    network_chooser,
    region_annotated,
    relative,
    smoke_data,
    smoke_out,
    write_markdown,
)
from cracklib.io import read_dataset, read_sample
from cracklib.measure import Confusion, confusion
from cracklib.nets import UNet11
from cracklib.pipeline import (
    DEFAULT_WEIGHTS,
    ExplanationSettings,
    PipelineConfig,
    default_mask,
    explain_with_network,
    load_classifier,
    segment,
    segment_explanation,
)
from cracklib.train import save_segmenter

TEACHER = "explanation masks (teacher)"
GATED = " within the explained tiles"


def _student_mask(path, image):
    explanation = explain_with_network(path, image, ExplanationSettings())
    return segment_explanation(explanation, default_mask("distilled"), photo=image).mask


def _label(method: str, *, code: bool = False) -> str:
    """The teacher's name, or a student's file from the project root (with ``--gated``'s words after it)."""
    if method == TEACHER:
        return method
    student = method.removesuffix(GATED)
    name = f"`{relative(student)}`" if code else relative(student)
    return name if student == method else name + GATED


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_root(parser)
    parser.add_argument("--students", nargs="*", default=[], help="segmentation network files (.pt with a card)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--gated", action="store_true",
                        help="also score each student's mask inside the tiles the classifier explained")
    parser.add_argument("--out", default=str(ROOT / "docs" / "self_training_val.md"))
    add_smoke(parser)
    args = parser.parse_args(argv)
    if args.smoke:  # magnetic tiles and one photo set, tiny and synthetic; an untrained student
        args.data_root = smoke_data(["magnetic_tiles", "crackforest"], split=args.split, n=3)
        args.out = smoke_out(args.out, True)
        student = Path(args.data_root) / "untrained_student.pt"
        save_segmenter(UNet11(0.125).eval(), student)
        args.students = [str(student)]
    classifier = load_classifier(DEFAULT_WEIGHTS)
    gated = args.students if args.gated else []
    methods = [TEACHER, *args.students, *(student + GATED for student in gated)]
    f1: dict[str, dict[str, float]] = {}
    seconds = {method: 0.0 for method in methods}
    counts = []
    for name, groups in SEGMENTER_SETS:
        folder = Path(args.data_root) / name
        if not folder.is_dir():
            continue
        teacher = network_chooser(name, classifier)
        samples = [s for s in read_dataset(folder, split=args.split, groups=groups) if s.mask and s.label != 0]
        samples = [s for s in samples if not region_annotated(s, 0.2)]
        totals = {method: Confusion() for method in methods}
        for sample in samples:
            image, truth = read_sample(sample)
            masks = {}
            for method in [TEACHER, *args.students]:
                start = time.perf_counter()
                if method == TEACHER:
                    result = segment(teacher, image, PipelineConfig())
                    masks[method], explained = result.mask, result.explanation.explained_pixels()
                else:
                    masks[method] = _student_mask(method, image)
                seconds[method] += time.perf_counter() - start
            for student in gated:
                masks[student + GATED] = masks[student] & explained
            for method in methods:
                totals[method] = totals[method] + confusion(masks[method], truth)
        f1[name] = {method: totals[method].f1 for method in methods}
        counts.append(f"{name} {len(samples)}")
        print(counts[-1], {_label(m): round(v, 4) for m, v in f1[name].items()}, flush=True)
    for student in gated:
        seconds[student + GATED] = seconds[TEACHER] + seconds[student]
    means = {method: float(np.mean([f1[name][method] for name in f1])) for method in methods}
    options = " " + " ".join(["--students", *map(relative, args.students)]) + \
        (f" --split {args.split}" if args.split != "val" else "")
    lines = [f"# Self-trained students against their teacher, {args.split} splits", "",
             generated_by(__spec__.name, options, smoke=args.smoke) + " F1 of the summed confusion over the photos "
             "whose mask holds crack pixels (magnetic tiles: groups crack and blowhole; its own classifier explains "
             "it); photos whose truth covers more than 20 % are left out. Photos: " + ", ".join(counts) + ".", "",
             "| set | " + " | ".join(_label(m, code=True) for m in methods) + " |",
             "|---|" + "---|" * len(methods)]
    for name in f1:
        lines.append(f"| {name} | " + " | ".join(f"{f1[name][m]:.3f}" for m in methods) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{means[m]:.3f}**" for m in methods) + " |")
    lines.append("| seconds, all sets | " + " | ".join(f"{seconds[m]:.1f}" for m in methods) + " |")
    write_markdown(args.out, lines)
    print("\n".join(lines[-len(f1) - 4:]))


if __name__ == "__main__":
    main()
