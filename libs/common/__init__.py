"""Switchboard shared plumbing: envelope, bus, settings, logging, metrics, health. No domain logic."""
