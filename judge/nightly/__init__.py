"""Nightly grading: run a config as a new run, compare with the previous one, gate regressions."""
