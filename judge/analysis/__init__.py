"""Analysis over the store: summaries, metrics, grades, reports."""
