"""Comparing judges: agreement between judges, gold labels, calibration (docs/comparing-judges.md)."""
