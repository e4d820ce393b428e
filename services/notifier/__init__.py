"""switchboard.notifier service."""
