"""Adapters of scheduler to the outside world."""
