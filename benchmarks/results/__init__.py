"""The published results: each script writes one of docs/*.md (benchmarks/README.md)."""
