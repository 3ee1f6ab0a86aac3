"""A guard on every test: no confidential note body reaches an email or a log record (R4).

`no_confidential_note_leaks` (autouse, imported into tests/conftest.py) records the body of
every `ConfidentialNote` saved during the test (post_save, in any thread: live-server tests
too), captures every log record emitted meanwhile (a handler on the root logger, which is
lowered to DEBUG for the test), and at teardown looks for each body in
`django.core.mail.outbox` (subject, body, recipients, headers, alternatives, attachments; the
operator's error emails from AdminEmailHandler land there too) and in each record (its
formatted message, its args, its exception and stack text, and any extra attributes), as
typed, HTML-escaped or URL-encoded, whole or its first PREVIEW_CHARS characters.

A failure names where the body leaked, with the body cut to its first characters: the
report of a leak must not become a leak itself. Bodies shorter than MIN_BODY_CHARS are not
looked for (a note "ok" would be "found" everywhere).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import pytest
from django.core import mail
from django.db.models.signals import post_save
from django.utils.html import escape

from mentoring.models import ConfidentialNote

MIN_BODY_CHARS = 10
# The start of a body is looked for too, so that a "preview" (a truncated body) is caught.
PREVIEW_CHARS = 24
_STANDARD_RECORD_ATTRS = frozenset(
    logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None).__dict__
) | {"message", "asctime"}


@dataclass(frozen=True)
class Captured:
    """One place a body could have gone: where (for the report) and the text there."""

    where: str
    text: str


class RecordCapture(logging.Handler):
    """Keeps the text of every record as it was when emitted (args can change later)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.captured: list[Captured] = []
        self._formatter = logging.Formatter()
        self._lock_captured = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        where = f"log record {record.name} {record.levelname}"
        parts = []
        try:
            parts.append(("message", record.getMessage()))
        except Exception:  # a broken format string must not hide the rest
            parts.append(("message", str(record.msg)))
        if record.args:
            parts.append(("args", repr(record.args)))
        if record.exc_info:
            parts.append(("exception", self._formatter.formatException(record.exc_info)))
        elif record.exc_text:
            parts.append(("exception", record.exc_text))
        if record.stack_info:
            parts.append(("stack", record.stack_info))
        for name, value in record.__dict__.items():
            if name not in _STANDARD_RECORD_ATTRS:
                try:
                    parts.append((f"extra {name}", repr(value)))
                except Exception:  # noqa: S112 (an unprintable extra cannot leak text)
                    continue
        with self._lock_captured:
            self.captured.extend(Captured(f"{where} ({what})", text) for what, text in parts)


def mail_captured(outbox) -> list[Captured]:
    """The text of every sent email, part by part."""
    captured = []
    for n, message in enumerate(outbox, start=1):
        where = f"email #{n} ({message.subject[:40]!r})"
        captured.append(Captured(f"{where} subject", str(message.subject)))
        captured.append(Captured(f"{where} body", str(message.body)))
        captured.append(
            Captured(f"{where} recipients", repr([message.to, message.cc, message.bcc]))
        )
        captured.append(Captured(f"{where} headers", repr(getattr(message, "extra_headers", {}))))
        for content, mimetype in getattr(message, "alternatives", []) or []:
            captured.append(Captured(f"{where} alternative {mimetype}", _text(content)))
        for attachment in message.attachments:
            if isinstance(attachment, tuple):
                filename, content, _ = attachment
                captured.append(Captured(f"{where} attachment {filename}", _text(content)))
            else:  # a MIMEBase part
                payload = attachment.get_payload(decode=True)
                captured.append(Captured(f"{where} attachment part", _text(payload)))
    return captured


def _text(content) -> str:
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    return str(content)


def encodings(text: str) -> set[str]:
    """`text` as it would appear in a page (HTML-escaped), a URL or a form body (quoted)."""
    return {text, escape(text), quote(text), quote_plus(text)}


def _probes(body: str) -> list[str]:
    body = body.strip()
    probes = encodings(body)
    if len(body) > PREVIEW_CHARS:
        probes |= encodings(body[:PREVIEW_CHARS])
    return [p for p in probes if p]


def _label(body: str) -> str:
    """A body named without being shown: its first characters and its length."""
    body = body.strip()
    return f"{body[:4]!r}… ({len(body)} chars)"


def find_leaks(bodies: Iterable[str], captured: Iterable[Captured]) -> list[str]:
    """Where each body (or the start of one) appears; empty when nowhere."""
    captured = list(captured)
    leaks = []
    for body in {b for b in bodies if b and len(b.strip()) >= MIN_BODY_CHARS}:
        probes = _probes(body)
        for place in captured:
            if any(probe in place.text for probe in probes):
                leaks.append(f"note body {_label(body)} found in {place.where}")
    return sorted(set(leaks))


@contextlib.contextmanager
def leak_guard():
    """Record note bodies saved and log records emitted inside; fail if a body leaked."""

    bodies: list[str] = []
    lock = threading.Lock()

    def remember(sender, instance, **kwargs):
        body = instance.__dict__.get("body")  # a deferred body was not written here
        if isinstance(body, str):
            with lock:
                bodies.append(body)

    uid = f"no-confidential-note-leaks-{id(bodies)}"
    post_save.connect(remember, sender=ConfidentialNote, dispatch_uid=uid, weak=False)
    root = logging.getLogger()
    handler = RecordCapture()
    level = root.level
    # The root goes down to DEBUG for the capture; the handlers already there keep printing
    # what they printed before (their own level is raised to the root's old one meanwhile).
    quieted = [(h, h.level) for h in root.handlers if h.level < level]
    for existing, _ in quieted:
        existing.setLevel(level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield bodies
    finally:
        root.setLevel(level)
        root.removeHandler(handler)
        for existing, before in quieted:
            existing.setLevel(before)
        post_save.disconnect(sender=ConfidentialNote, dispatch_uid=uid)
    if not bodies:
        return
    leaks = find_leaks(bodies, [*mail_captured(getattr(mail, "outbox", [])), *handler.captured])
    if leaks:
        pytest.fail(
            "A confidential note body left the notes pages (R4):\n  " + "\n  ".join(leaks),
            pytrace=False,
        )


@pytest.fixture
def deliberate_note_leaks():
    """For a test that leaks a body on purpose (to prove a guard fails): the autouse guard
    stands aside for it."""
    return None


@pytest.fixture(autouse=True)
def no_confidential_note_leaks(request):
    if "deliberate_note_leaks" in request.fixturenames:
        yield
        return
    with leak_guard():
        yield
