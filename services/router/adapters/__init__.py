"""Adapters of the router service: the ports its handlers use and their real implementations."""
