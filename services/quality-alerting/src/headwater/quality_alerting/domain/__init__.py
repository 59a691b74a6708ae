"""Pure rules of quality-alerting: statistics, calendar arithmetic, alert wording; no I/O."""
