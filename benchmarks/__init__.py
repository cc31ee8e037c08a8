"""Benchmarks of cracklib, run from the repository root as modules (benchmarks/README.md lists them).

    .venv/bin/python -m benchmarks.results.segmenters --split test
    .venv/bin/python -m benchmarks.results.segmenters --smoke      # seconds, on a tiny synthetic input
"""
