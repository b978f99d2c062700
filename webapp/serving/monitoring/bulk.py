"""Insert encoded prediction log rows, many to a statement: the writer's hot loop.

SQLite: one statement carries up to CHUNK rows, so the database runs a handful of statements per
batch instead of one per row, and the driver lets go of the GIL once per statement (sqlite3's
executemany lets go and takes it back for every row, each time handing it to a request thread and
then waiting its turn). Statements come in power-of-two sizes, so a connection prepares at most six
and reuses them. PostgreSQL: psycopg's executemany sends the rows in one pipeline (psycopg parses
the placeholders of a statement with more than 50 anew on every call, which made long statements
cost more than they saved). Both databases take `ON CONFLICT DO NOTHING`, so a request id a client
reused never sinks its batch. Reads stay with SQLAlchemy's JSON type, which parses the JSON text
`encode` wrote.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .encode import COLUMNS
from .tables import predictions

CHUNK = 32  # rows per statement: 32 x 17 = 544 parameters, under even old SQLite's limit of 999
_statements: dict[tuple[str, int], str] = {}


def _statement(dialect: sa.Dialect, rows: int) -> str:
    found = _statements.get((dialect.name, rows))
    if found is None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        row = f"({', '.join([mark] * len(COLUMNS))})"
        found = _statements[(dialect.name, rows)] = (
            f"INSERT INTO {predictions.name} ({', '.join(COLUMNS)}) "
            f"VALUES {', '.join([row] * rows)} ON CONFLICT DO NOTHING")
    return found


def insert_values(conn: sa.Connection, values: list[Any], rows: int) -> None:
    """Insert `rows` rows whose COLUMNS values follow one another in `values`."""
    width, start, size = len(COLUMNS), 0, CHUNK
    if conn.dialect.name == "postgresql":  # psycopg parses a long statement again on every call
        rows_of = [tuple(values[i:i + width]) for i in range(0, rows * width, width)]
        conn.exec_driver_sql(_statement(conn.dialect, 1), rows_of)  # its executemany: one pipeline
        return
    while start < rows:
        while size > rows - start:
            size //= 2
        chunk = tuple(values[start * width:(start + size) * width])
        conn.exec_driver_sql(_statement(conn.dialect, size), chunk)
        start += size
