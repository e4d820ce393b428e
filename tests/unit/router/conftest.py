from router_unit_kit import config, engine, templates, ws  # noqa: F401  (fixtures)
