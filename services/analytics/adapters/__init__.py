"""Adapters of the analytics service: the ports its handlers use and their real implementations."""
