"""Pure rules of the scheduler: cron expressions and due times; no I/O."""
