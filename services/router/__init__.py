"""switchboard.router service."""
