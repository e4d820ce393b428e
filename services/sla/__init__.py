"""switchboard.sla service."""
