"""Benchmarks: ``make bench`` (full) and ``make bench-quick`` (what CI can afford)."""
