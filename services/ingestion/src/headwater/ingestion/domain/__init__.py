"""Datasets, parse settings, field rules and line signatures: pure rules over Arrow batches, no I/O."""
