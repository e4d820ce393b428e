"""Console projection of the bus and the pure rules of the workspace (no I/O)."""
