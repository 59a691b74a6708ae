"""Use cases of execution-tracking: one async function each, run inside a unit of work."""
