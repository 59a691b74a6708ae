"""Use cases of quality-alerting, one async function each, and the unit of work."""
