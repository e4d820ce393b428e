"""The HTTP surface of the console: JSON read API, actions, pages, live events."""
