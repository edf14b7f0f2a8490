"""The only place with SQL: the box's SQLite database (WAL), its migrations and named queries.

Submodules group the queries by what they are about (dossiers, pages, jobs, events, users,
search); everything else in the box calls these functions and never writes SQL itself.
"""

from device.db.connection import Database, open_database, transaction

__all__ = ["Database", "open_database", "transaction"]
