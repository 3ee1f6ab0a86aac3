"""Chart data for a dashboard table: what static/js/dashboards.js draws above the table.

Pure (no ORM). A chart is only a picture of its table: it plots the table's columns marked
`chart=True`, with the same rounded figures the table shows, and leaves a hidden or missing
figure out (a gap, never a zero). The table stays the accessible version of every chart.

The data reaches the browser through `json_script` (the CSP allows no inline script), so it
carries labels and numbers only: no row key (a program's id) and nothing the table does not
show.
"""

from __future__ import annotations

from dashboards.aggregates import Table

# Axis limits per unit: shares 0-100, survey means on their 1-5 scale, the rest from zero.
AXES = {
    "percent": {"min": 0, "max": 100, "suffix": "%"},
    "mean": {"min": 1, "max": 5, "suffix": ""},
    "ratio": {"min": 0, "max": None, "suffix": ""},
    "days": {"min": 0, "max": None, "suffix": " days"},
    "count": {"min": 0, "max": None, "suffix": ""},
}
KIND_WORDS = {"line": "Line chart", "bar": "Bar chart", "histogram": "Bar chart"}


def chart_for(table: Table) -> dict | None:
    """The chart of `table`, or None where a chart would not help: no column to plot, fewer
    than two figures to show (one bar says no more than its cell), or only zeros."""
    columns = [(i, c) for i, c in enumerate(table.columns) if c.chart]
    if not columns:
        return None
    # A histogram's total row would dwarf its buckets; a line over years plots every year.
    rows = [r for r in table.rows if not (table.chart == "histogram" and r.total)]
    datasets = []
    shown = 0
    for index, column in columns:
        data = [_number(row.values[index]) for row in rows]
        shown += sum(1 for x in data if x is not None)
        datasets.append({"label": column.label, "data": data})
    if shown < 2 or not any(x for d in datasets for x in d["data"] if x is not None):
        return None  # nothing to look at: one figure, or only zeros
    unit = columns[0][1].unit
    hidden = any(row.values[i].hidden for row in rows for i, _c in columns)
    return {
        "type": "line" if table.chart == "line" else "bar",
        "labels": [row.label for row in rows],
        "datasets": datasets,
        "axis": {**AXES.get(unit, AXES["count"]), "unit": unit},
        "title": table.title,
        "description": describe(table, [c for _i, c in columns], hidden=hidden),
    }


def describe(table: Table, columns, *, hidden: bool) -> str:
    """The chart's accessible name: what it plots, its summary, where the figures are."""
    plotted = ", ".join(c.label for c in columns)
    text = f"{KIND_WORDS.get(table.chart, 'Chart')}: {table.title} ({plotted}). "
    text += table.summary
    if hidden:
        text += " Hidden figures are left out of the chart."
    return text + " The table after the chart gives every figure."


def _number(value) -> float | int | None:
    if value.hidden or value.value is None:
        return None
    return value.value
