"""Extraction: the facts of a case read from a letter's text, area by area."""
