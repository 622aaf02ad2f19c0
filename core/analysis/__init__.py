"""Forensic analyses: pure functions over the index, each in its own module."""
