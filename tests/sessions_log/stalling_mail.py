"""A file email backend that can hang in the middle of a send, for the R11 worker tests.

Set in a worker subprocess's environment:
  STALL_MAIL_DIR    a directory; without it this is the plain file backend
  STALL_MAIL_AFTER  how many messages this process writes before one stalls (default 0)
  STALL_MAIL_MAX    how many processes in all may stall (default 1)

The stalling message first leaves a marker file named after the process id in STALL_MAIL_DIR
(so the test knows the worker is mid-send, and which process to kill), then sleeps before
anything is written: a SIGKILL then lands after the claim and before the message exists.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.mail.backends import filebased


class EmailBackend(filebased.EmailBackend):
    written = 0  # messages written by this process

    def send_messages(self, email_messages):
        stall_dir = os.environ.get("STALL_MAIL_DIR")
        if stall_dir and email_messages:
            after = int(os.environ.get("STALL_MAIL_AFTER", "0"))
            most = int(os.environ.get("STALL_MAIL_MAX", "1"))
            markers = Path(stall_dir)
            if EmailBackend.written >= after and len(list(markers.iterdir())) < most:
                marker = markers / str(os.getpid())
                if not marker.exists():
                    marker.write_text(", ".join(email_messages[0].to))
                    time.sleep(300)  # killed long before this ends
        sent = super().send_messages(email_messages)
        EmailBackend.written += sent
        return sent
