"""Statements for intake's hot path, run straight on the database driver's cursor.

Intake runs about ten statements per contact. Through SQLAlchemy's execution layer each costs
~60 µs of Python before the database sees it; on the driver's cursor ~5 µs (bench/intake.py
measures the difference). The statements stay inside SQLAlchemy's transaction (same
connection), and inserts are generated from the model's table, so there is no second copy
of the schema here: only the values are adapted the way SQLAlchemy's column types would
(aware times → naive UTC, JSON → text).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

Adapter = Callable[[Any], Any]
_ColumnPlan = tuple[str, Adapter | None, Callable[[], Any]]  # name, adapter, default
_NAMED = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def _sqlite_time(value: dt.datetime | None) -> str | None:
    # The text form SQLAlchemy's SQLite DateTime writes, so both read each other's rows.
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:  # most times are made UTC already (utcnow)
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _adapter(column: sa.Column[Any], dialect: str) -> Adapter | None:
    kind = column.type
    if isinstance(kind, sa.JSON):
        return _json
    if isinstance(kind, sa.types.TypeDecorator) and isinstance(kind.impl_instance, sa.DateTime):
        return _sqlite_time if dialect == "sqlite" else _naive_utc
    return None


def _default(column: sa.Column[Any]) -> Callable[[], Any]:
    """What SQLAlchemy would insert for a column left out, as a function (called per row:
    a default such as utcnow gives a new value each time)."""
    default = column.default
    if isinstance(default, ScalarElementColumnDefault):
        value = default.arg
        return lambda: value
    if isinstance(default, CallableColumnDefault):
        # SQLAlchemy wraps zero-argument callables to take an (unused) context.
        make = default.arg
        return lambda: make(cast(Any, None))
    if column.nullable:
        return lambda: None

    def missing() -> Any:
        raise KeyError(f"{column.table.name}.{column.name} needs a value")

    return missing


def dbapi_cursor(connection: sa.Connection) -> Any:
    """A cursor of the driver itself, for statements that skip SQLAlchemy's per-call work."""
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _placeholder(dialect: str) -> str:
    return "?" if dialect == "sqlite" else "%s"


class FastInsert:
    """INSERT of every column but the id (all must be given), optionally returning the id."""

    def __init__(self, table: sa.Table, returning_id: bool) -> None:
        self.table = table
        self.columns = [c for c in table.columns if c.name != "id"]
        self._names = frozenset(c.name for c in self.columns)  # checked on every row
        self._defaults = [_default(c) for c in self.columns]
        self.returning_id = returning_id
        self._compiled: dict[str, tuple[str, list[_ColumnPlan]]] = {}

    def _for(self, dialect: str) -> tuple[str, list[_ColumnPlan]]:
        if dialect not in self._compiled:
            names = ", ".join(f'"{c.name}"' for c in self.columns)
            marks = ", ".join(_placeholder(dialect) for _ in self.columns)
            sql = f'INSERT INTO "{self.table.name}" ({names}) VALUES ({marks})'
            if self.returning_id:
                sql += " RETURNING id"
            plan = [(c.name, _adapter(c, dialect), default)
                    for c, default in zip(self.columns, self._defaults, strict=True)]
            self._compiled[dialect] = (sql, plan)
        return self._compiled[dialect]

    def _row(self, plan: list[_ColumnPlan], values: dict[str, Any]) -> tuple[Any, ...]:
        if not self._names.issuperset(values):
            unknown = set(values) - self._names
            raise KeyError(f"{self.table.name} has no column(s) {sorted(unknown)}")
        row = []
        for name, adapt, default in plan:
            value = values[name] if name in values else default()
            row.append(adapt(value) if adapt is not None else value)
        return tuple(row)

    def one(self, connection: sa.Connection, values: dict[str, Any]) -> int | None:
        sql, plan = self._for(connection.dialect.name)
        cursor = dbapi_cursor(connection)
        cursor.execute(sql, self._row(plan, values))
        return int(cursor.fetchone()[0]) if self.returning_id else None

    def many(self, connection: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        sql, plan = self._for(connection.dialect.name)
        dbapi_cursor(connection).executemany(sql, [self._row(plan, row) for row in rows])


class FastQuery:
    """Hand-written SQL with :name parameters; a `:name*` parameter takes a list (IN …)."""

    def __init__(self, sql: str, times: tuple[str, ...] = ()) -> None:
        self.sql = sql
        self.times = set(times)  # parameters holding aware datetimes
        self._compiled: dict[tuple[str, tuple[int, ...]], tuple[str, list[str]]] = {}

    def _for(self, dialect: str, params: dict[str, Any]) -> tuple[str, list[str]]:
        lengths = tuple(len(v) for k, v in sorted(params.items()) if isinstance(v, list))
        key = (dialect, lengths)
        if key not in self._compiled:
            order: list[str] = []

            def mark(match: re.Match[str]) -> str:
                name = match.group(1)
                if isinstance(params[name], list):
                    order.extend(f"{name}[{i}]" for i in range(len(params[name])))
                    return ", ".join(_placeholder(dialect) for _ in params[name])
                order.append(name)
                return _placeholder(dialect)

            self._compiled[key] = (_NAMED.sub(mark, self.sql), order)
        return self._compiled[key]

    def execute(self, connection: sa.Connection, params: dict[str, Any]) -> Any:
        dialect = connection.dialect.name
        sql, order = self._for(dialect, params)
        values = []
        for name in order:
            base, _, index = name.partition("[")
            value = params[base][int(index[:-1])] if index else params[base]
            if base in self.times:
                value = _sqlite_time(value) if dialect == "sqlite" else _naive_utc(value)
            values.append(value)
        cursor = dbapi_cursor(connection)
        cursor.execute(sql, tuple(values))
        return cursor

