"""Benchmarks (not tests): a deterministic data generator and timed scenarios, reported as ratios to
baselines measured in the same run (SPEC §18). See bench/RESULTS.md and `python -m bench --help`."""
