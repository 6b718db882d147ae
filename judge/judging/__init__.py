"""Judging: verdict schema, judge prompt rendering, and the built-in offline judge."""
