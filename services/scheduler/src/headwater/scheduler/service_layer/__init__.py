"""Use cases of scheduler, one async function each, and the unit of work."""
