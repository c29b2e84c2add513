"""Local services the client starts for tests and the dev network (Kubo)."""
