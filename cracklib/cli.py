"""Command line: ``python -m cracklib segment|evaluate|growth|train``.

Other tools depend on the command names, options and JSON keys: keep them stable.
Every user error prints one line on stderr and exits with code 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

from cracklib.errors import CrackInputError
from cracklib.io.datasets import read_dataset
from cracklib.io.imageio import read_image, read_mask, write_png
from cracklib.io.render import growth_overlay
from cracklib.mask.refine import PER_PHOTO
from cracklib.nets.models import ARCHITECTURES
from cracklib.pipeline.classifier import DEFAULT_WEIGHTS, load_classifier
from cracklib.pipeline.decision import PHOTO_DECISIONS
from cracklib.pipeline.mask_step import segment
from cracklib.pipeline.methods import NETWORK_STEP_FIELDS, default_mask
from cracklib.pipeline.options import OPTIONS, default_of
from cracklib.pipeline.segmenters import SEGMENTER_METHODS
from cracklib.pipeline.settings import MODES, ExplanationSettings, MaskSettings, PipelineConfig
from cracklib.run.batch import run_campaign
from cracklib.run.calibration import calibrate_weights, choose_views
from cracklib.run.evaluation import evaluate_samples
from cracklib.run.export import result_files
from cracklib.run.growth import GROWTH_CONFIG, STATIC_RULE, STATIC_RULES, TEMPORAL_MODES, monitor_growth
from cracklib.train.classifier import train_and_save
from cracklib.train.distill import ROUND_TEACHERS, PseudoMaskSettings, default_cache_dir, distill_and_save
from cracklib.train.examples import PatchSettings
from cracklib.train.explainer import ExplainerConfig, fit_explainer_and_save
from cracklib.train.progress import progress_bar
from cracklib.train.segmenter import AUGMENTATIONS, SegmenterConfig, train_unet_and_save

__all__ = ["main"]


EXPLANATION, MASK = ExplanationSettings(), MaskSettings()


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too)
        raise CrackInputError(f"{self.prog}: {message}")


def _segmenter_options(parser: argparse.ArgumentParser, *, out: str) -> None:
    defaults = SegmenterConfig()
    parser.add_argument("--out", default=out, help=f"weights file (default {out})")
    parser.add_argument("--width", type=float, default=defaults.width, help="channel multiplier of the U-Net")
    parser.add_argument("--crop", type=int, default=defaults.crop, help="training crop side (a multiple of 16)")
    parser.add_argument("--crops-per-image", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--augment", default=defaults.augment, choices=list(AUGMENTATIONS),
                        help="mild: flips, turns, brightness, contrast; strong: zoom, gamma, blur, noise, JPEG too")
    parser.add_argument("--max-images", type=int, default=None,
                        help="at most this many cracked and this many crack-free images of each folder and split")
    parser.add_argument("--init", default=None, metavar="WEIGHTS",
                        help="fine-tune: start from this segmentation network (same --width)")
    parser.add_argument("--resume", action="store_true", help="continue from NAME.ckpt.pt (written every epoch)")


def _segmenter_config(args) -> "SegmenterConfig":
    if args.crop % 16:
        raise CrackInputError(f"--crop {args.crop}: must be a multiple of 16")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise CrackInputError("--device cuda: no CUDA GPU on this machine")
    return SegmenterConfig(width=args.width, crop=args.crop, epochs=args.epochs, batch_size=args.batch_size,
                           learning_rate=args.lr, seed=args.seed, device=args.device, augment=args.augment,
                           init_from=args.init)


def _pipeline_options(parser: argparse.ArgumentParser, *, allow_none: bool = False,
                      defaults: MaskSettings = MASK) -> None:
    """The pipeline's options, from the one schema (:data:`cracklib.pipeline.options.OPTIONS`).

    A segmentation network brings its own threshold, refinement and post-processing
    (:func:`cracklib.pipeline.default_mask`): those three default to None here and are filled in by
    :func:`_config` once the method is known.
    """
    networks = " and ".join(SEGMENTER_METHODS)
    for entry in OPTIONS:
        default = default_of(entry.name)
        kwargs = dict(dest=entry.name, help=entry.help)
        if entry.choices is not None:
            kwargs["choices"] = entry.choices() + (["none"] if entry.name == "method" and allow_none else [])
        if entry.name == "darkness_width":
            kwargs["type"] = _darkness_width
        elif entry.number is not None:
            kwargs["type"] = entry.number
        if entry.name in NETWORK_STEP_FIELDS:
            default = None
            kwargs["help"] += f" (default {getattr(defaults, entry.name)}; {networks}: their own)"
        elif default is not None:
            kwargs["help"] += f" (default {default})"
        parser.add_argument(entry.flag, default=default, **kwargs)
    parser.set_defaults(mask_defaults=defaults)
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (.pt with its .json card)")


def _darkness_width(text: str) -> int | str:
    """``--darkness-width``: a side in pixels, or "per_photo" (checked by MaskSettings)."""
    if text == PER_PHOTO:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an odd number of pixels or {PER_PHOTO}, got {text!r}") from None


def _config(args) -> PipelineConfig:
    method = args.method if args.method != "none" else EXPLANATION.method
    own = default_mask(method, args.mask_defaults)  # a segmentation network's own mask step, unless chosen
    chosen = {entry.name: getattr(args, entry.name) for entry in OPTIONS}
    chosen.update(method=method, **{name: chosen[name] or getattr(own, name) for name in NETWORK_STEP_FIELDS})
    return PipelineConfig.of(**chosen)


def _progress(total: int, description: str):
    return progress_bar(total, description, sys.stderr)


def _advance(bar, done: int, total: int) -> None:
    bar.total = total
    bar.update(done - bar.n)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cracklib", description="Crack segmentation from classifier explanations.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    seg = commands.add_parser("segment", help="segment photos; writes masks, heatmaps and JSON")
    seg.add_argument("images", nargs="+", help="image files")
    seg.add_argument("--out", required=True, help="output folder")
    seg.add_argument("--exclude", default=None, metavar="MASK",
                     help="a mask of the photos' size whose white pixels are never crack (lane markings, joints, edges)")
    _pipeline_options(seg)

    ev = commands.add_parser("evaluate", help="evaluate on a data folder; prints one JSON object")
    ev.add_argument("--data", required=True, help="folder with images/, masks/ and manifest.csv")
    ev.add_argument("--split", default=None, help="train, val or test (default: all)")
    ev.add_argument("--groups", default=None, help="comma-separated groups")
    ev.add_argument("--faithfulness", action="store_true",
                    help="also score each segmented photo's explanation: deletion, insertion, ROAD, the cascading "
                         "randomisation test and the localisation against its mask (seconds per photo)")
    _pipeline_options(ev, allow_none=True)

    gr = commands.add_parser("growth", help="segment a time series of one surface; report what grew")
    gr.add_argument("frames", nargs="+", help="two or more photos of one surface, in time order")
    gr.add_argument("--align", action=argparse.BooleanOptionalAction, default=True,
                    help="register every frame onto the first (phase correlation) and crop to the shared region")
    gr.add_argument("--rotation", action="store_true", help="also undo rotations of up to 10 degrees")
    gr.add_argument("--temporal", default="consistent", choices=list(TEMPORAL_MODES),
                    help="; ".join(f"{name}: {text}" for name, text in TEMPORAL_MODES.items()))
    gr.add_argument("--static", default=STATIC_RULE, choices=list(STATIC_RULES),
                    help="mask pixels whose photo never changed: " + "; ".join(f"{name}: {text}" for name, text
                                                                               in STATIC_RULES.items()))
    gr.add_argument("--out", default=None, help="folder for the masks and growth overlays")
    gr.add_argument("--json", action="store_true", help="print one JSON object (default: a table)")
    _pipeline_options(gr, defaults=GROWTH_CONFIG.mask)

    ba = commands.add_parser("batch", help="a whole campaign: every photo of a folder, resumable, local or on Ray")
    ba.add_argument("input", help="a folder of photos (recursive), a manifest.csv, or a text file of photo paths")
    ba.add_argument("--out", required=True, help="campaign folder (photos/, records/, results.csv, results.parquet)")
    ba.add_argument("--engine", default="local", choices=["local", "ray"])
    ba.add_argument("--address", default=None, help="Ray cluster address (auto, ray://HOST:PORT); default: a local Ray")
    ba.add_argument("--workers", type=int, default=1, help="Ray actors, each with the model loaded once")
    ba.add_argument("--gpus-per-worker", type=float, default=0.0)
    ba.add_argument("--threads-per-worker", type=int, default=None, help="torch threads per worker")
    _pipeline_options(ba)

    un = commands.add_parser("train-unet", help="train the supervised U-Net on pixel masks (the reference)")
    un.add_argument("--data", nargs="+", required=True, help="data folders with masks (train and val splits)")
    un.add_argument("--groups", nargs="+", default=None,
                    help="only the images of these manifest groups (e.g. magnetic tiles' crack blowhole free)")
    _segmenter_options(un, out=str(DEFAULT_WEIGHTS.parent / "segmenters" / "unet.pt"))

    vw = commands.add_parser("choose-views", help="pick how many flips and turns of a photo a segmentation network "
                                                  "or classifier averages (val split) and write it into its card")
    vw.add_argument("--weights", required=True,
                    help="segmentation network, or classifier (its whole-photo model's card is the one rewritten, "
                         "where it names one; run calibrate after)")
    vw.add_argument("--data", nargs="+", required=True, help="data folders with masks")
    vw.add_argument("--groups", nargs="+", default=None, help="only the images of these manifest groups")
    vw.add_argument("--split", default="val", help="the split to choose on (default val; never test)")
    vw.add_argument("--max-views", type=int, default=8, choices=[1, 2, 4, 8],
                    help="the most views worth their cost (each is one more pass over the photo)")
    vw.add_argument("--dry-run", action="store_true", help="print the scores, leave the card as it is")

    ds = commands.add_parser("distill", help="train a U-Net on the classifier's explanation masks (image labels only)")
    ds.add_argument("--data", nargs="+", required=True, help="data folders (train and val splits; masks are not read)")
    ds.add_argument("--teacher", dest="weights", default=str(DEFAULT_WEIGHTS),
                    help="the classifier whose explanations are the targets (same as --weights)")
    ds.add_argument("--rounds", type=int, default=1, help="further rounds train on a new teacher (--round-teacher)")
    ds.add_argument("--ignore-band", type=int, default=PseudoMaskSettings.band, metavar="PX",
                    help="pixels around the teacher's mask left out of the loss (decision 0020: 2 px 0.534, "
                         "4 px 0.528, 8 px 0.493 mean val F1 at 8 epochs)")
    ds.add_argument("--unexplained", default="ignore", choices=["ignore", "background"],
                    help="on a cracked photo, the tiles the classifier left unexplained: left out of the loss "
                         "(ignore) or taught as background (decision 0020: 0.511 and 0.506 mean val F1 with a "
                         "2-px band, 20 epochs)")
    ds.add_argument("--round-teacher", default="student", choices=list(ROUND_TEACHERS),
                    help="after the first round: student, the previous student's mask refined on the photo; "
                         "agreement, where that mask and the explanations agree")
    ds.add_argument("--start-from", default=None, metavar="STUDENT",
                    help="continue the rounds from a student of an earlier round (its refined mask is the first "
                         "teacher)")
    ds.add_argument("--teacher-for", nargs="*", default=[], metavar="FOLDER=WEIGHTS",
                    help="a data folder explained by its own classifier "
                         "(e.g. magnetic_tiles=weights/magnetic_tiles.pt)")
    ds.add_argument("--cache-dir", default=None,
                    help="where the pseudo-masks are kept as PNG (default: a folder in the temp folder)")
    _segmenter_options(ds, out=str(DEFAULT_WEIGHTS.parent / "segmenters" / "distilled.pt"))
    ds.set_defaults(augment="strong", crops_per_image=4)  # self-training: a noised student (train/distill.py)
    _pipeline_options(ds)

    ex = commands.add_parser("train-explainer",
                             help="train an NN-Explainer against a frozen classifier (image labels only)")
    ex.add_argument("--classifier", default=str(DEFAULT_WEIGHTS), help="the classifier to explain")
    ex.add_argument("--data", nargs="+", required=True, help="data folders (train and val splits)")
    ex.add_argument("--out", default=str(DEFAULT_WEIGHTS.parent / "nn_explainer.pt"))
    ex.add_argument("--width", type=float, default=0.125, help="U-Net width multiplier")
    ex.add_argument("--epochs", type=int, default=4)
    ex.add_argument("--lr", type=float, default=1e-3)
    ex.add_argument("--max-patches", type=int, default=12, help="native patches per masked image, each kind")
    ex.add_argument("--hard-negatives", metavar="WEIGHTS", default=None,
                    help="as for train: crack-free patches these weights call cracked join the examples")
    ex.add_argument("--cache-dir", default=None, help="folder for the decoded examples (default: the temp folder)")
    ex.add_argument("--resume", action="store_true", help="continue from NAME.ckpt.pt (written every epoch)")

    ca = commands.add_parser("calibrate", help="fit a classifier's logit offset on labelled photos (val split) "
                                               "and write it into its card (into its whole-photo model's card "
                                               "when that model takes part in the decision)")
    ca.add_argument("--weights", required=True, help="weights file (.pt with its .json card, rewritten)")
    ca.add_argument("--data", nargs="+", required=True, help="data folders in the ../shared/data layout")
    ca.add_argument("--split", default="val", help="the split to fit on (default val; never test)")
    ca.add_argument("--mode", default=EXPLANATION.mode, choices=list(MODES))
    ca.add_argument("--decision", default=EXPLANATION.decision, choices=list(PHOTO_DECISIONS))
    ca.add_argument("--dry-run", action="store_true", help="print the fit, leave the card as it is")

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
    tr.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to train (default: cpu)")
    tr.add_argument("--resume", action="store_true", help="continue from NAME.ckpt.pt (written every epoch)")
    tr.add_argument("--until-epoch", type=int, default=None,
                    help="stop after this epoch and write the best weights so far (the learning-rate schedule "
                         "stays that of --epochs); with --resume, a run already there writes them at once")
    tr.add_argument("--patience", type=int, default=5,
                    help="stop when the validation loss has not improved for this many epochs (default 5)")
    tr.add_argument("--hard-negatives", metavar="WEIGHTS", default=None,
                    help="add the crack-free patches that these weights call cracked (a second round)")
    tr.add_argument("--max-patches", type=int, default=16,
                    help="crack and crack-free native patches per masked image, each (default 16)")
    tr.add_argument("--init", metavar="WEIGHTS", default=None,
                    help="fine-tune these weights (same --arch, --width, --size) instead of starting from scratch")
    tr.add_argument("--oversample", nargs="+", metavar="FOLDER=K", default=[],
                    help="repeat a data folder's training examples K times (e.g. brick_walls=4)")
    tr.add_argument("--cache-dir", default=None, help="folder for the decoded examples (default: the temp folder)")
    tr.add_argument("--out", required=True, help="weights file to write (NAME.pt)")
    return parser


def _segment(args) -> int:

    config = _config(args)
    classifier = load_classifier(args.weights)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    bar = _progress(len(args.images), "segment")
    for name in args.images:
        try:
            image = read_image(name)
            exclude = read_mask(args.exclude, shape=image.shape[:2], name=f"--exclude {args.exclude} for {name}") \
                if args.exclude else None
        except CrackInputError as error:
            print(f"error: {error}", file=sys.stderr)
            failures += 1
            bar.update()
            continue
        tiles = _progress(0, Path(name).name)
        result = segment(classifier, image, config, exclude=exclude,
                         progress=lambda done, total: _advance(tiles, done, total))
        tiles.close()
        for file_name, content in result_files(Path(name).name, image, result).items():  # as the app's downloads
            (out / file_name).write_bytes(content)
        bar.update()
    bar.close()
    return 2 if failures else 0


def _evaluate(args) -> int:

    groups = [g.strip() for g in args.groups.split(",")] if args.groups else None
    samples = read_dataset(args.data, split=args.split, groups=groups)
    classifier = load_classifier(args.weights)
    bar = _progress(len(samples), "evaluate")
    report = evaluate_samples(classifier, samples, _config(args), segmentation=args.method != "none",
                              faithfulness=args.faithfulness, progress=lambda done, total: bar.update())
    bar.close()
    report.update({"data": str(args.data), "split": args.split, "groups": groups, "weights": str(args.weights)})
    print(json.dumps(report))
    for problem in report["skipped"]:  # scored without them, but the user must hear of each
        print(f"error: {problem}", file=sys.stderr)
    return 2 if report["skipped"] else 0


def _growth(args) -> int:

    images = [read_image(name) for name in args.frames]  # an unreadable frame stops the series
    classifier = load_classifier(args.weights)
    bar = _progress(len(images), "growth")
    report = monitor_growth(classifier, images, _config(args), names=[str(name) for name in args.frames],
                            align=args.align, rotation=args.rotation, temporal=args.temporal, static=args.static,
                            progress=lambda done, total: _advance(bar, done, total))
    bar.close()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for index, frame in enumerate(report.frames):
            stem = f"{index + 1:02d}_{Path(frame.name).stem}"
            write_png(out / f"{stem}_mask.png", frame.result.mask)
            write_png(out / f"{stem}_growth.png",
                      growth_overlay(frame.image, report.previous_mask(index), frame.result.mask))
    data = report.to_dict()
    if args.out:
        (Path(args.out) / "growth.json").write_text(json.dumps(data, indent=2))
    if args.json:
        print(json.dumps(data))
    else:
        print(f"{'frame':<32} {'prob':>5} {'area px':>8} {'length':>7} {'max w':>6} {'cracks':>6} {'shift':>12}")
        for frame in data["frames"]:
            shift = "{:+.1f},{:+.1f}".format(*frame["shift_px"])
            flag = "  disagrees with its neighbours" if frame["flagged"] else ""
            print(f"{Path(frame['image']).name[:32]:<32} {frame['crack_probability']:>5.2f} {frame['area_px']:>8} "
                  f"{frame['length_px']:>7.0f} {frame['max_width_px']:>6.1f} {frame['n_cracks']:>6} {shift:>12}{flag}")
        for step in data["steps"]:
            print(f"step {step['from'] + 1}->{step['to'] + 1}: area {step['delta_area_px']:+d} px, "
                  f"length {step['delta_length_px']:+.0f} px, new crack {step['new_crack_px']} px")
    return 0


def _batch(args) -> int:

    if args.workers < 1:
        raise CrackInputError(f"--workers {args.workers}: at least 1")
    bar = _progress(0, "batch")

    def progress(done: int, total: int, errors: int) -> None:
        _advance(bar, done, total)
        bar.set_postfix(errors=errors)

    summary = run_campaign(args.input, args.out, _config(args), weights=args.weights, engine=args.engine,
                           address=args.address, workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                           threads_per_worker=args.threads_per_worker, progress=progress)
    bar.close()
    print(f"{summary.photos} photos ({summary.done_now} now, {summary.skipped_finished} finished before): "
          f"{summary.cracked} cracked, {summary.errors} errors, total crack length {summary.total_length_px:.0f} px, "
          f"{summary.seconds:.0f} s; table {summary.table}", file=sys.stderr)
    print(json.dumps(summary.to_dict()))
    return 0


def _train_unet(args) -> int:
    for folder in args.data:
        if not Path(folder).is_dir():
            raise CrackInputError(f"{folder}: no such data folder")
    card = train_unet_and_save(args.data, args.out, config=_segmenter_config(args),
                               crops_per_image=args.crops_per_image, max_images=args.max_images,
                               notes={"command": "python -m cracklib " + " ".join(args.argv)}, resume=args.resume,
                               groups=args.groups, log=sys.stderr)
    print(card.to_json())
    return 0


def _choose_views(args) -> int:
    bar = _progress(0, "choose-views")
    fit = choose_views(args.weights, args.data, split=args.split, groups=args.groups, max_views=args.max_views,
                       write=not args.dry_run,
                       provenance={"data": [str(folder) for folder in args.data], "groups": args.groups,
                                   "split": args.split, "command": "python -m cracklib " + " ".join(args.argv)},
                       progress=lambda done, total: _advance(bar, done, total))
    bar.close()
    print(json.dumps(fit))
    return 0


def _distill(args) -> int:
    for folder in args.data:
        if not Path(folder).is_dir():
            raise CrackInputError(f"{folder}: no such data folder")
    if args.rounds < 1:
        raise CrackInputError(f"--rounds {args.rounds}: at least 1")
    teachers = {}
    for item in args.teacher_for:
        name, _, weights = item.partition("=")
        if not name or not weights:
            raise CrackInputError(f"--teacher-for {item}: expected FOLDER=WEIGHTS")
        teachers[name] = load_classifier(weights)
    teacher = load_classifier(args.weights)
    pipeline = _config(args)
    settings = PseudoMaskSettings(band=args.ignore_band, ignore_unexplained=args.unexplained == "ignore")
    cache = args.cache_dir or default_cache_dir(teacher, pipeline, settings)
    card = distill_and_save(teacher, args.data, args.out, config=_segmenter_config(args), pipeline=pipeline,
                            settings=settings,
                            rounds=args.rounds, round_teacher=args.round_teacher, teachers=teachers,
                            crops_per_image=args.crops_per_image, max_images=args.max_images, cache_dir=cache,
                            start_from=args.start_from,
                            notes={"command": "python -m cracklib " + " ".join(args.argv)}, resume=args.resume,
                            log=sys.stderr)
    print(card.to_json())
    return 0


def _calibrate(args) -> int:
    bar = _progress(0, "calibrate")
    settings = replace(ExplanationSettings(), mode=args.mode, decision=args.decision)
    fit = calibrate_weights(args.weights, args.data, settings, split=args.split, write=not args.dry_run,
                            provenance={"data": [str(folder) for folder in args.data], "split": args.split,
                                        "command": "python -m cracklib " + " ".join(args.argv)},
                            progress=lambda done, total: _advance(bar, done, total))
    bar.close()
    print(json.dumps(fit))
    return 0


def _train(args) -> int:
    if args.device == "cuda" and not torch.cuda.is_available():
        raise CrackInputError("--device cuda: no CUDA GPU on this machine")
    for weights in (args.hard_negatives, args.init):
        if weights and not Path(weights).exists():
            raise CrackInputError(f"{weights}: no such weights file")
    repeats = {}
    for item in args.oversample:
        name, _, factor = item.partition("=")
        if not factor.isdigit() or int(factor) < 1:
            raise CrackInputError(f"--oversample {item}: expected FOLDER=K with K a whole number ≥ 1")
        repeats[name] = int(factor)
    patches = PatchSettings(max_crack=args.max_patches, max_clean=args.max_patches)
    skipped: list[str] = []  # bad manifest rows and unreadable files: left out, the rest trained on
    card = train_and_save(data=args.data, synthetic=args.synthetic, arch=args.arch, width=args.width,
                          size=args.size, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          seed=args.seed, half=args.half, out=args.out, device=args.device, resume=args.resume,
                          hard_negatives_from=args.hard_negatives, patch_settings=patches,
                          cache_dir=args.cache_dir, init_from=args.init, oversample_sources=repeats,
                          command="python -m cracklib " + " ".join(args.argv),
                          log=sys.stderr, until_epoch=args.until_epoch, patience=args.patience, skipped=skipped)
    print(card.to_json())
    for problem in skipped:  # trained without them, but the user must hear of each (as evaluate does)
        print(f"error: {problem}", file=sys.stderr)
    return 2 if skipped else 0


def _train_explainer(args) -> int:
    for weights in (args.classifier, args.hard_negatives):
        if weights and not Path(weights).exists():
            raise CrackInputError(f"{weights}: no such weights file")
    config = ExplainerConfig(width=args.width, epochs=args.epochs, learning_rate=args.lr)
    card = fit_explainer_and_save(args.classifier, args.data, args.out, config=config, max_patches=args.max_patches,
                                  hard_negatives_from=args.hard_negatives, cache_dir=args.cache_dir,
                                  resume=args.resume, command="python -m cracklib " + " ".join(args.argv),
                                  log=sys.stderr)
    print(json.dumps({"out": str(args.out), "sha256": card.sha256, "history": card.notes["history"]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        if not 0 <= getattr(args, "gate", 0) <= 1:
            raise CrackInputError(f"--gate must be between 0 and 1, got {args.gate}")
        return {"segment": _segment, "evaluate": _evaluate, "growth": _growth, "train": _train,
                "train-unet": _train_unet, "choose-views": _choose_views, "distill": _distill, "batch": _batch,
                "calibrate": _calibrate, "train-explainer": _train_explainer}[args.command](args)
    except CrackInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # a bad combination of options (e.g. a baseline the weights lack)
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
