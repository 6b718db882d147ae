"""Prompt sets: the rows to evaluate, their schema and loading."""
