"""The offline geographic reference in data/geo: its readers, and the maintainers' build from sources."""
