"""HTTP API, authentication and roles, CLI, settings and wiring."""
