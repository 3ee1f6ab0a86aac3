"""Emptying the database after a transactional test (browser, worker and race tests), fast.

Django's TransactionTestCase empties every table after each such test with `manage.py flush`:
one TRUNCATE of every table, then the post_migrate signal (content types, permissions, the
site, guardian's anonymous user). PostgreSQL's TRUNCATE gives each table and each of its
indexes new files, which took 0.6-1 s a test here, whatever the tables held. These tests leave
a few rows in a few tables: finding those tables (one query) and deleting their rows takes
some 40 ms. The outcome is the same: every table empty, sequences as they were (flush is
called with reset_sequences=False), then the same post_migrate signal.

`install()` (tests/conftest.py) puts this in place of TransactionTestCase._fixture_teardown;
django.test.TestCase, which rolls back instead, is untouched. Anything but PostgreSQL, and
the flush variants this suite does not use (available_apps, serialized_rollback), keep
Django's own teardown.
"""

from __future__ import annotations

import contextlib
from importlib import import_module

from django.apps import apps
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction
from django.test import TransactionTestCase

# Row triggers refuse DELETE on the access log (mentoring migration 0006); TRUNCATE is allowed
# in the test runner's sessions (tests/conftest.py, migration 0007).
ACCESS_LOG = "mentoring_accesslogentry"

_django_fixture_teardown = TransactionTestCase._fixture_teardown


def empty_every_table(alias: str) -> None:
    """Leave every table of database `alias` (PostgreSQL) empty, in one transaction."""
    connection = connections[alias]
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    quote = connection.ops.quote_name
    probe = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})"  # noqa: S608 (table names)
        for table in tables
    )
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(probe, tables)
        filled = [row[0] for row in cursor.fetchall()]
        # Rows refer to each other across tables; Django's foreign keys are deferrable, so
        # they are checked at commit, when every row is gone, whatever the order here.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in filled:
            verb = "TRUNCATE" if table == ACCESS_LOG else "DELETE FROM"
            cursor.execute(f"{verb} {quote(table)}")


def _fixture_teardown(self) -> None:
    aliases = self._databases_names(include_mirrors=False)
    if self.available_apps is not None or self.serialized_rollback:
        _django_fixture_teardown(self)
        return
    # As `manage.py flush` does: the apps' management modules register post_migrate handlers.
    for app_config in apps.get_app_configs():
        with contextlib.suppress(ImportError):
            import_module(".management", app_config.name)
    for alias in aliases:
        empty_every_table(alias)
        emit_post_migrate_signal(0, False, alias)


def install() -> None:
    TransactionTestCase._fixture_teardown = _fixture_teardown
