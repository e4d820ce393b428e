"""Pure domain of the ingest service: no I/O, no clock reads, no framework imports."""
