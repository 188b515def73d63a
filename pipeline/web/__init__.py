"""The web face: the team's workspace (Flask) and the public one-click unsubscribe, served by `comms web`."""
