"""The warehouse: access to the DuckDB file (readers, the one writer) and its schema with migrations."""
