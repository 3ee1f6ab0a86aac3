"""Backup and restore (bin/backup, bin/restore): a dump restored into a fresh database holds
the same rows, its notes decrypt with the same keys, and its access log still refuses changes."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from mentoring import crypto, notes
from mentoring import services as mentoring_services
from mentoring.models import AccessLogEntry, ConfidentialNote
from tests.sessions_log.test_reminders import _database_url

ROOT = Path(__file__).resolve().parents[2]
BODY = "Worried about the anatomy exam; we planned two study sessions."

pytestmark = pytest.mark.django_db(transaction=True)


def _counts(cursor) -> dict[str, int]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [row[0] for row in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (names from the catalogue)
        counts[table] = cursor.fetchone()[0]
    return counts


def test_a_backup_restores_into_a_fresh_database_whole_and_readable(
    tmp_path, program, mentor, learner
):
    pair = mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    note = notes.note_create(notes.Access(user=mentor), relationship=pair, body=BODY)
    notes.note_read(notes.Access(user=mentor), note.code)
    assert AccessLogEntry.objects.count() == 2
    source = _database_url()
    target = f"{source.rsplit('/', 1)[0]}/restored_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "mentoring.dump"
    env = {"DATABASE_URL": source, "PATH": "/usr/bin:/bin"}
    subprocess.run([ROOT / "bin/backup", dump], check=True, env=env)
    assert BODY.encode() not in dump.read_bytes()  # encrypted in the dump too
    subprocess.run([ROOT / "bin/restore", dump, target], check=True, env=env)
    restored = psycopg2.connect(target)
    try:
        with connection.cursor() as cursor:
            before = _counts(cursor)
        with restored.cursor() as cursor:
            assert _counts(cursor) == before
            table = ConfidentialNote._meta.db_table
            cursor.execute(f'SELECT body FROM "{table}" WHERE code = %s', [str(note.code)])  # noqa: S608
            assert crypto.decrypt(cursor.fetchone()[0]) == BODY
        with pytest.raises(psycopg2.Error, match="append-only"), restored.cursor() as cursor:
            cursor.execute(f'UPDATE "{AccessLogEntry._meta.db_table}" SET reason = %s', ["x"])  # noqa: S608
        restored.rollback()
        # A restore never writes over a database.
        again = subprocess.run([ROOT / "bin/restore", dump, target], env=env, capture_output=True)
        assert again.returncode != 0 and b"exists already" in again.stderr
    finally:
        restored.close()
        admin = psycopg2.connect(f"{source.rsplit('/', 1)[0]}/postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target.rsplit("/", 1)[1]}"')
        admin.close()
