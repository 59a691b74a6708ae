"""Pure rules of execution tracking: no I/O, no framework."""
