"""Placeholder: filled in by its own room."""
