"""`{% notes_summary relationship user as summary %}`: what the relationship page's notes panel
says (templates/mentoring/notes/_relationship_panel.html). Counts and dates only, never a
body (R4): listing is not reading."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

from mentoring import notes
from mentoring.views.notes import form_token

register = template.Library()


@register.simple_tag
def notes_summary(relationship, user) -> dict:
    ends = notes.retention_ends_on(relationship)
    return {
        "is_guide": relationship.guide_id == user.pk,
        "count": notes.note_list(user, relationship).count(),
        "may_write": notes.may_write_on(user, relationship),
        "retention_ends_on": ends,
        "expired": ends is not None and timezone.localdate() > ends,
    }


@register.simple_tag(takes_context=True)
def notes_form_token(context):
    """The hidden "served" field every notes form carries (mentoring/views/notes.py)."""

    return format_html(
        '<input type="hidden" name="served" value="{}">', form_token(context["request"])
    )
