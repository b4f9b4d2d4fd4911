"""Query layer of the dashboard pages, one module per page.

Every function takes an open DuckDB connection and a `Scope` first and
returns DataFrames (or a dict of them): pages never build SQL nor aggregate,
so statistical secrecy can later be applied here, in one place. They reuse
`pipelines.indicators.query` and its CTE `acc` (accompaniments in scope).
"""
