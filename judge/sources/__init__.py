"""Importers for answers other tools produced (Inspect AI logs, promptfoo results, tables) into runs."""
