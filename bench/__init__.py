"""Benchmarks of the forecast service: `python -m bench.run_all` writes BENCHMARKS.md sections."""
