"""The clock: APScheduler 3 wakes the pipeline; one clock per database."""
