"""Query layer: the indicators, defined once, and one module of query functions per page.

* `indicators`: the scope (`Scope`), its CTE `acc` (accompaniments active in the scope) through
  `query`, and every indicator the pages, exports, report and CLI share;
* `masks`: the statistical-secrecy masks every funder view shares (territory hierarchy, hidden scope,
  top-structure hours);
* `vue_ensemble`, `structures`, `besoins`, `territoires`, `resultats`, `temoignages`: each page's data.

Every function takes an open DuckDB connection and a `Scope` first and returns DataFrames (or a dict of
them): pages never build SQL nor aggregate, and a role under secrecy gets its masked values from here.
"""
