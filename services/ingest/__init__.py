"""switchboard.ingest service."""
