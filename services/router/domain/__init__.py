"""Pure domain of the router service: no I/O, no clock reads, no framework imports."""
