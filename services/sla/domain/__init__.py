"""Pure domain of the sla service: no I/O, no clock reads, no framework imports."""
