"""Adapters of the notifier service: the ports its handlers use and their real implementations."""
