"""Benchmarks (``make bench``): not tests; figures go to ``bench/results/`` and the README."""
