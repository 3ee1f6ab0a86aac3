"""bin/demo: the embedded PostgreSQL server the demo runs on, and what a killed demo leaves.

Each test has a data directory of its own (DJANGO_VAR_DIR) and no DATABASE_URL, as on a
fresh clone; `bin/demo manage ...` runs one command against the demo's server the way
`make run` runs migrate, the demo and honcho.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "bin" / "demo"


def _env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "XDG_RUNTIME_DIR"}}
    env["DJANGO_VAR_DIR"] = str(var_dir)
    return env


def _demo(var_dir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DEMO), *args],
        cwd=ROOT,
        env=_env(var_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _servers(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def _wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


@pytest.fixture
def var_dir(tmp_path):
    yield tmp_path
    for proc in _servers(tmp_path / "pgdata"):  # never leave a server behind
        proc.kill()


def _start_a_long_command(var_dir: Path) -> subprocess.Popen:
    """A demo holding the server: a Django shell that sleeps, connected to the database."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(DEMO),
            "manage",
            "shell",
            "-c",
            "from django.db import connection; connection.ensure_connection(); "
            "print('connected', flush=True); import time; time.sleep(600)",
        ],
        cwd=ROOT,
        env=_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    for line in proc.stdout:
        if "connected" in line:
            return proc
    raise AssertionError(f"the demo did not start: {proc.wait()}")


def test_the_demo_starts_its_own_postgresql_and_stops_it_at_the_end(var_dir):
    first = _demo(
        var_dir,
        "manage",
        "shell",
        "-c",
        "from django.db import connection; "
        "print(connection.vendor, connection.pg_version >= 180000)",
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "postgresql True" in first.stdout
    assert "first run" in first.stdout
    assert (var_dir / "pgdata" / "PG_VERSION").exists()
    assert not _servers(var_dir / "pgdata")  # stopped when the command ended
    again = _demo(var_dir, "manage", "check")  # the data directory is reused
    assert again.returncode == 0, again.stdout + again.stderr
    assert "first run" not in again.stdout


def test_a_demo_killed_with_sigkill_starts_again(var_dir):
    """SIGKILL leaves the server's postmaster.pid, the dead launcher in the package's list of
    handle holders and the launcher's child running; the next start says what it found,
    cleans up without a traceback, and still stops the server when it ends."""
    pgdata = var_dir / "pgdata"
    demo = _start_a_long_command(var_dir)
    child = psutil.Process(demo.pid).children(recursive=True)
    assert child
    os.kill(demo.pid, signal.SIGKILL)  # the launcher only: its child lives on
    demo.wait()
    server_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(server_pid, signal.SIGKILL)  # and the server dies without cleaning up
    _wait_for(lambda: not psutil.pid_exists(server_pid))
    assert (pgdata / "postmaster.pid").exists()
    assert str(demo.pid) in (pgdata / ".handle_pids.json").read_text()

    again = _demo(var_dir, "manage", "check")
    output = again.stdout + again.stderr
    assert again.returncode == 0, output
    assert "Traceback" not in output
    assert "left by a demo that was killed" in output
    assert "removing its stale lock" in output
    assert not any(p.is_running() for p in child)
    assert not _servers(pgdata)  # stopped at the end: no stale holder kept it alive


def test_a_server_left_running_by_a_killed_demo_is_reused_then_stopped(var_dir):
    pgdata = var_dir / "pgdata"
    demo = _start_a_long_command(var_dir)
    os.killpg(demo.pid, signal.SIGKILL)  # launcher and command; the server has its own session
    demo.wait()
    assert _servers(pgdata)

    again = _demo(var_dir, "manage", "check")
    output = again.stdout + again.stderr
    assert again.returncode == 0, output
    assert "Traceback" not in output
    assert "still running" in output
    _wait_for(lambda: not _servers(pgdata), 30)


def test_a_data_directory_that_cannot_start_gives_a_sentence_not_a_traceback(var_dir):
    pgdata = var_dir / "pgdata"
    assert _demo(var_dir, "manage", "check").returncode == 0
    (pgdata / "postgresql.conf").write_text("this is not a setting\n")
    broken = _demo(var_dir, "manage", "check")
    output = broken.stdout + broken.stderr
    assert broken.returncode == 1
    assert "the demo's PostgreSQL server did not start" in output
    assert "Traceback" not in output
