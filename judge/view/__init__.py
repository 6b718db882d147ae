"""`judge view`: a local web viewer for runs, verdicts, run-to-run changes, judge agreement and labelling."""
