"""Command line: ``python -m cracklib segment|evaluate|train``.

Other tools depend on the command names, options and JSON keys: keep them stable.
Every user error prints one line on stderr and exits with code 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .attribution import METHODS
from .baselines import BASELINES
from .composites import RULE_SETS
from .imageio import CrackInputError, write_png
from .models import ARCHITECTURES
from .pipeline import DEFAULT_WEIGHTS, MODES, PipelineConfig
from .postprocess import POSTPROCESSING
from .threshold import THRESHOLDS

__all__ = ["main"]

DEFAULTS = PipelineConfig()


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too)
        raise CrackInputError(f"{self.prog}: {message}")


def _pipeline_options(parser: argparse.ArgumentParser, *, allow_none: bool = False) -> None:
    methods = list(METHODS) + (["none"] if allow_none else [])
    parser.add_argument("--method", default=DEFAULTS.method, choices=methods, help="attribution method")
    parser.add_argument("--rules", default=DEFAULTS.rules, choices=list(RULE_SETS), help="LRP rule set")
    parser.add_argument("--baseline", default=DEFAULTS.baseline, choices=list(BASELINES))
    parser.add_argument("--threshold", default=DEFAULTS.threshold, choices=list(THRESHOLDS))
    parser.add_argument("--post", default=DEFAULTS.post, choices=list(POSTPROCESSING))
    parser.add_argument("--post-scale", type=float, default=DEFAULTS.post_scale)
    parser.add_argument("--gate", type=float, default=DEFAULTS.gate,
                        help="explain only when the crack probability reaches this (0 = always)")
    parser.add_argument("--scale", type=float, default=None, dest="mm_per_px", help="mm per pixel")
    parser.add_argument("--mode", default=DEFAULTS.mode, choices=list(MODES),
                        help="tiled: native-resolution tiles (any photo size); resize: whole photo to the model input")
    parser.add_argument("--tile-overlap", type=float, default=DEFAULTS.tile_overlap, help="fraction of a tile")
    parser.add_argument("--tile-scale", type=float, default=DEFAULTS.tile_scale,
                        help="resize factor before tiling (1 = native resolution)")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (.pt with its .json card)")


def _config(args) -> PipelineConfig:
    return PipelineConfig(method=args.method if args.method != "none" else DEFAULTS.method, rules=args.rules,
                          baseline=args.baseline, threshold=args.threshold, post=args.post,
                          post_scale=args.post_scale, gate=args.gate, mm_per_px=args.mm_per_px, mode=args.mode,
                          tile_overlap=args.tile_overlap, tile_scale=args.tile_scale)


def _progress(total: int, description: str):
    from tqdm import tqdm
    return tqdm(total=total, desc=description, file=sys.stderr, disable=None, leave=False)


def _advance(bar, done: int, total: int) -> None:
    bar.total = total
    bar.update(done - bar.n)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cracklib", description="Crack segmentation from classifier explanations.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    seg = commands.add_parser("segment", help="segment photos; writes masks, heatmaps and JSON")
    seg.add_argument("images", nargs="+", help="image files")
    seg.add_argument("--out", required=True, help="output folder")
    _pipeline_options(seg)

    ev = commands.add_parser("evaluate", help="evaluate on a data folder; prints one JSON object")
    ev.add_argument("--data", required=True, help="folder with images/, masks/ and manifest.csv")
    ev.add_argument("--split", default=None, help="train, val or test (default: all)")
    ev.add_argument("--groups", default=None, help="comma-separated groups")
    _pipeline_options(ev, allow_none=True)

    tr = commands.add_parser("train", help="train a classifier on image labels")
    source = tr.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs="+", help="data folders in the ../shared/data layout")
    source.add_argument("--synthetic", type=int, metavar="N", help="train on N generated synthetic images")
    tr.add_argument("--arch", default="vgg11_128", choices=list(ARCHITECTURES))
    tr.add_argument("--width", type=float, default=0.25)
    tr.add_argument("--size", type=int, default=128, help="input size (pixels, square)")
    tr.add_argument("--epochs", type=int, default=20)
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--lr", type=float, default=2e-3)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--half", action="store_true", help="store the weights as float16")
    tr.add_argument("--out", required=True, help="weights file to write (NAME.pt)")
    return parser


def _segment(args) -> int:
    from .imageio import read_image
    from .pipeline import load_classifier, segment
    from .render import heatmap_rgb

    config = _config(args)
    classifier = load_classifier(args.weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    bar = _progress(len(args.images), "segment")
    for name in args.images:
        try:
            image = read_image(name)
        except CrackInputError as error:
            print(f"error: {error}", file=sys.stderr)
            failures += 1
            bar.update()
            continue
        tiles = _progress(0, Path(name).name)
        result = segment(classifier, image, config, progress=lambda done, total: _advance(tiles, done, total))
        tiles.close()
        stem = Path(name).stem
        write_png(out / f"{stem}_mask.png", result.mask)
        write_png(out / f"{stem}_heatmap.png", heatmap_rgb(result.relevance, result.mask.shape))
        (out / f"{stem}.json").write_text(json.dumps({"image": str(name), **result.summary()}, indent=2))
        bar.update()
    bar.close()
    return 2 if failures else 0


def _evaluate(args) -> int:
    from .datasets import read_dataset
    from .evaluation import evaluate_samples
    from .pipeline import load_classifier

    groups = [g.strip() for g in args.groups.split(",")] if args.groups else None
    samples = read_dataset(args.data, split=args.split, groups=groups)
    classifier = load_classifier(args.weights)
    bar = _progress(len(samples), "evaluate")
    report = evaluate_samples(classifier, samples, _config(args), segmentation=args.method != "none",
                              progress=lambda done, total: bar.update())
    bar.close()
    report.update({"data": str(args.data), "split": args.split, "groups": groups, "weights": str(args.weights)})
    print(json.dumps(report))
    return 0


def _train(args) -> int:
    from .training_data import train_and_save

    card = train_and_save(data=args.data, synthetic=args.synthetic, arch=args.arch, width=args.width,
                          size=args.size, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          seed=args.seed, half=args.half, out=args.out, log=sys.stderr)
    print(card.to_json())
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not 0 <= getattr(args, "gate", 0) <= 1:
            raise CrackInputError(f"--gate must be between 0 and 1, got {args.gate}")
        return {"segment": _segment, "evaluate": _evaluate, "train": _train}[args.command](args)
    except CrackInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # a bad combination of options (e.g. a baseline the weights lack)
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
