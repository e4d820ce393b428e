"""Adapters of the ingest service: the ports its handlers use and their real implementations."""
