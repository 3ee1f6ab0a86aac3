"""Writing rows with PostgreSQL COPY, ids taken from the tables' sequences."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Iterable, Sequence

from django.db import connection


def _text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "")
        )
    return text


class Copier:
    """COPY rows into a model's table, ids from the table's sequence."""

    CHUNK = 50_000

    def __init__(self, cursor):
        self.cursor = cursor

    def reserve(self, model, count: int) -> int:
        """First of `count` consecutive ids nobody else will take: the table's sequence is
        moved past them at once."""
        table = model._meta.db_table
        self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = self.cursor.fetchone()[0]
        quoted = connection.ops.quote_name(table)
        self.cursor.execute(
            # Names from the model's _meta and pg_get_serial_sequence; values are parameters.
            f"SELECT setval(%s, GREATEST((SELECT COALESCE(MAX(id), 0) FROM {quoted}), "  # noqa: S608
            f"(SELECT last_value FROM {sequence})) + %s)",
            [sequence, max(count, 1)],
        )
        return self.cursor.fetchone()[0] - max(count, 1) + 1

    def copy(self, model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
        meta = model._meta
        columns = [meta.get_field(name).column for name in fields]
        missing = [
            f.column
            for f in meta.concrete_fields
            if f.column not in columns and not f.null and not f.primary_key
        ]
        if missing:  # the model grew a column this seed does not know: fail loudly
            raise RuntimeError(f"seed_scale does not fill {meta.label}: {', '.join(missing)}")
        sql = "COPY {} ({}) FROM STDIN".format(
            connection.ops.quote_name(meta.db_table),
            ", ".join(connection.ops.quote_name(c) for c in columns),
        )
        written = 0
        buffer = io.StringIO()
        pending = 0
        for row in rows:
            buffer.write("\t".join(_text(v) for v in row))
            buffer.write("\n")
            pending += 1
            if pending == self.CHUNK:
                buffer.seek(0)
                self.cursor.copy_expert(sql, buffer)
                written += pending
                buffer, pending = io.StringIO(), 0
        if pending:
            buffer.seek(0)
            self.cursor.copy_expert(sql, buffer)
            written += pending
        return written
