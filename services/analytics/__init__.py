"""switchboard.analytics service."""
