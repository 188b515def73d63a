"""The jobs: plain functions of ids and a per-process context, run by the clock, the command line and queue workers."""
