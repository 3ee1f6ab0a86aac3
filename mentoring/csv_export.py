"""CSV downloads: streamed, readable by spreadsheets, and defused against formula injection.
Every export of the project goes through `csv_response` (console people and assessment roles,
match runs)."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


# A spreadsheet runs a cell that starts with one of these as a formula. Exports prefix such a
# cell with a single quote; imports (roster.imports) take the quote off again, so
# export -> import round-trips.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value) -> str:
    """A cell as text: lists joined with "; " (as the imports read them), None as empty."""
    if isinstance(value, list):
        return "; ".join(value)
    return "" if value is None else str(value)


def spreadsheet_safe(value) -> str:
    """The cell as text, defused: a spreadsheet would run a cell that starts with = + - @ as a
    formula (CSV injection), so such a cell gets a leading single quote. The import takes the
    quote off again (roster.imports), so export -> import changes nothing."""
    text = cell_text(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_response(filename: str, header: Iterable[str], rows: Iterable) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        # The byte-order mark makes spreadsheets read the file as UTF-8 (accents in names);
        # the import reads it as utf-8-sig.
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([spreadsheet_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
