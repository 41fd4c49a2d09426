"""Benchmark rows for benches/compare.py, one module per area; each defines ROWS."""
