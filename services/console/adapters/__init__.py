"""MongoDB stores, peer HTTP clients and config loading of the console."""
