"""Adapters of the sla service: the ports its handlers use and their real implementations."""
