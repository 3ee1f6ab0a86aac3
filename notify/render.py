"""The one email renderer: every email the product sends is built here.

templates/emails/<name>_subject.txt, _body.txt and _body.html, rendered with the recipient's
time zone active (templates show aware datetimes in the active zone) and the zone's name in the
context as `zone_name`. The X-Mentoring-Claim header names the claim row, so an operator can
trace a message, or a bounce, to it.
"""

from __future__ import annotations

import zoneinfo

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone


def render_email(
    name: str,
    context: dict,
    *,
    to: str,
    zone: zoneinfo.ZoneInfo,
    claim: str,
    subject_prefix: str = "",
    attachments=(),
) -> EmailMultiAlternatives:
    """The house email `name` to `to`, rendered in `zone`. `attachments`: MIME parts, or
    (filename, content, mimetype) triples."""
    context = {"zone_name": str(zone), **context}
    with timezone.override(zone):
        subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject=subject_prefix + subject,
            body=render_to_string(f"emails/{name}_body.txt", context),
            to=[to],
            headers={"X-Mentoring-Claim": claim},
        )
        message.attach_alternative(
            render_to_string(f"emails/{name}_body.html", context), "text/html"
        )
    for attachment in attachments:
        if isinstance(attachment, tuple):
            message.attach(*attachment)
        else:
            message.attach(attachment)
    return message
