"""Benchmarks run by `make bench`: each case is a ratio against a baseline measured in the same run."""
