"""The use cases: every rule the faces (command line, web, clock, workers) rely on, each taking an actor."""
