"""Authorization matrix rows of a person's own data pages; merged into MATRIX.

There is no object to choose: everyone signed in reaches their own page and downloads their
own data (POST only). The download asks for a recent authentication (allauth's
reauthentication); the matrix driver marks every member freshly authenticated, so each gets
their own zip (200). The stale-session answer (302 to the password prompt, then the file), the
CSRF check and the contents are tested in tests/privacy/test_data_rights.py."""

from __future__ import annotations

from tests.authz_matrix_base import Row, everyone

ROWS: dict[str, Row] = {
    "data:page": everyone(),
    "data:download": everyone(method="post"),
}
