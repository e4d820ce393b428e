"""Pure domain of the analytics service: no I/O, no clock reads, no framework imports."""
