"""Benchmarks: `make bench` runs every `bench_*.py` module here and prints its figures.

Each benchmark compares against a baseline measured in the same run, on the same machine.
"""
