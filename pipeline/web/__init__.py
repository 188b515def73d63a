"""The web face: the one-click unsubscribe endpoint (and, next, the team's workspace)."""
