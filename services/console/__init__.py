"""The console: agents and supervisors read and work conversations in a browser."""
