"""Authorization matrix rows of availability and booking; merged into MATRIX.
World objects: world.slot (a free slot of the mentor), world.meeting (the world's pair's booked
meeting, tomorrow), world.past_meeting (the pair's meeting of last week, not yet logged)."""

from __future__ import annotations

from tests.authz_matrix_base import Row  # noqa: F401

ROWS: dict = {}
