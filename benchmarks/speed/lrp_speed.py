"""LRP cost: plain input gradient vs zennit vs cracklib's fast engine, side by side in one process.

    .venv/bin/python -m benchmarks.speed.lrp_speed [--weights weights/default.pt] [--repeats 5] [--threads 2]
        [--full-width-repeats 3] [--skip-full-width] [--smoke]

Models: the shipped weights at their input size, and a full-width VGG11-128
(untrained, same architecture as Seibold et al.'s VGG-A 128N) at 224 px. Batch 1
and 8, every rule set on the shipped model, the default and zennit's
EpsilonGammaBox on the full-width one. Each cell is the median of ``--repeats``
timed runs after one warm-up, methods interleaved so drifts hit all alike.
Prints a table and, last, one JSON line: ``ours_over_gradient`` (the default
rule set on the shipped model, the worse of batch 1 and 8), ``zennit_over_ours``
(same cells, the smaller), ``max_rel_diff`` (over every cell), and the worst
ratio over every rule set and model. ``--smoke``: one repeat, batch 1 and 2, the default and montavon rules on
the shipped model, the default on the full-width one at 64 px.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from benchmarks.common import add_smoke
from cracklib.explain import zennit_lrp
from cracklib.explain import RULE_SETS
from cracklib.explain import lrp_relevance
from cracklib.nets import CRACK_CLASS, Normalization, build_model
from cracklib.pipeline import DEFAULT_WEIGHTS, load_classifier
from cracklib.pipeline import ExplanationSettings

NORM = Normalization()
#: Batch sizes timed (``--smoke``: 1 and 2).
BATCHES = (1, 8)


def gradient(model, x, rule_set):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[:, CRACK_CLASS].sum(), x)
    return grad


def zennit(model, x, rule_set):
    return zennit_lrp(model, x, rule_set, NORM)


def ours(model, x, rule_set):
    return lrp_relevance(model, x, rule_set, NORM)


def measure(model, size, batch, rule_set, repeats):
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    functions = {"gradient": gradient, "zennit": zennit, "ours": ours}
    results = {name: function(model, x, rule_set) for name, function in functions.items()}  # warm-up
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function(model, x, rule_set)
            times[name].append(time.perf_counter() - start)
    ms = {name: 1000 * statistics.median(values) / batch for name, values in times.items()}
    reference = results["zennit"]
    return {"ms_per_image": ms, "ours_over_gradient": ms["ours"] / ms["gradient"],
            "zennit_over_gradient": ms["zennit"] / ms["gradient"], "zennit_over_ours": ms["zennit"] / ms["ours"],
            "max_rel_diff": float((results["ours"] - reference).abs().max() / reference.abs().max())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full-width-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-full-width", action="store_true")
    add_smoke(parser)
    args = parser.parse_args(argv)
    batches, full_size = BATCHES, 224
    default_rules = ExplanationSettings().rules
    shipped_rules, full_rules = list(RULE_SETS), [default_rules, "epsilon_gamma_box"]
    if args.smoke:
        args.repeats, args.full_width_repeats, batches, full_size = 1, 1, (1, 2), 64
        shipped_rules, full_rules = list(dict.fromkeys([default_rules, "montavon"])), [default_rules]
    torch.set_num_threads(args.threads)
    shipped = load_classifier(args.weights, device="cpu")
    plans = [(f"{Path(args.weights).name} (w{shipped.card.width}, {shipped.card.input_size} px)", shipped.model,
              shipped.card.input_size, shipped_rules, args.repeats)]
    if not args.skip_full_width:
        torch.manual_seed(0)
        full = build_model("vgg11_128", width=1.0, input_size=full_size).eval()
        plans.append((f"VGG11-128 full width ({full_size} px)", full, full_size, full_rules, args.full_width_repeats))
    rows = []
    print(f"{'model':<34} {'rules':<21} {'batch':>5} {'grad ms':>8} {'zennit ms':>9} {'ours ms':>8} "
          f"{'ours/grad':>9} {'zennit/grad':>11} {'zennit/ours':>11} {'max rel diff':>12}", flush=True)
    for label, model, size, rule_sets, repeats in plans:
        for rule_set in rule_sets:
            for batch in batches:
                row = {"model": label, "rules": rule_set, "batch": batch,
                       **measure(model, size, batch, rule_set, repeats)}
                rows.append(row)
                ms = row["ms_per_image"]
                print(f"{label:<34} {rule_set:<21} {batch:>5} {ms['gradient']:>8.1f} {ms['zennit']:>9.1f} "
                      f"{ms['ours']:>8.1f} {row['ours_over_gradient']:>9.2f} {row['zennit_over_gradient']:>11.2f} "
                      f"{row['zennit_over_ours']:>11.2f} {row['max_rel_diff']:>12.1e}", flush=True)
    headline = [row for row in rows if row["model"] == plans[0][0] and row["rules"] == default_rules]
    worst = max(rows, key=lambda row: row["ours_over_gradient"])
    print(json.dumps({
        "model": plans[0][0], "rules": default_rules, "threads": args.threads,
        "ours_over_gradient": round(max(row["ours_over_gradient"] for row in headline), 3),
        "zennit_over_ours": round(min(row["zennit_over_ours"] for row in headline), 3),
        "max_rel_diff": max(row["max_rel_diff"] for row in rows),
        "worst_ours_over_gradient": round(worst["ours_over_gradient"], 3),
        "worst_cell": {key: worst[key] for key in ("model", "rules", "batch")},
        "full_width_ours_over_gradient": round(max((row["ours_over_gradient"] for row in rows
                                                    if row["model"] != plans[0][0]), default=float("nan")), 3),
    }))


if __name__ == "__main__":
    main()
