"""Pure domain of the notifier service: no I/O, no clock reads, no framework imports."""
