"""Forms of the confidential notes and of the privacy officer's access log.

The note form only carries what was typed: `mentoring.notes` checks the text (after deciding
whether the person may write at all, so an outsider gets 404 whatever they typed) and its
ValidationError is put on the form, which keeps the text (R12).
"""

from __future__ import annotations

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Q

from mentoring.models import AccessLogEntry
from mentoring.models.confidential import NOTE_MAX_CHARS
from mentoring.views import is_uuid


class NoteForm(forms.Form):
    # SECURITY (R4): CONFIDENTIAL. Never logged, never echoed in an error message.
    body = forms.CharField(
        required=False,  # the service says what is missing, after the access decision
        strip=False,
        label="Your note",
        widget=forms.Textarea(
            attrs={
                "rows": 12,
                "maxlength": NOTE_MAX_CHARS,
                "aria-describedby": "id_body_helptext",
            }
        ),
        help_text=f"Up to {NOTE_MAX_CHARS:,} characters. Only you can read it, unless you "
        "share it with your learner.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The form only carries the text; mentoring.notes decides who may write, then checks
        # the text (a NUL byte included) and says what to fix. Django's own NUL check would
        # drop the text from cleaned_data before that decision.
        self.fields["body"].validators = [
            v
            for v in self.fields["body"].validators
            if not isinstance(v, ProhibitNullCharactersValidator)
        ]


def _choices(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


class AccessLogFilterForm(forms.Form):
    """The access log's filters (a GET form). Every field is optional."""

    action = forms.ChoiceField(
        required=False, choices=_choices("Any action", AccessLogEntry.Action.choices)
    )
    outcome = forms.ChoiceField(
        required=False, choices=_choices("Any outcome", AccessLogEntry.Outcome.choices)
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    actor = forms.CharField(
        required=False,
        max_length=254,
        label="Person's email",
        help_text="The whole address or a part of it.",
    )
    code = forms.CharField(
        required=False,
        max_length=60,
        label="Note or relationship code",
        help_text="The code from the note's or the relationship's address.",
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if code and not is_uuid(code):
            raise forms.ValidationError(
                "A code looks like 3f2b8c1e-5d4a-4e1b-9c7d-2a6f0e9b8d71 (from a page's address)."
            )
        return code

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filter(self, qs):
        """`qs` narrowed by the valid filters (call after is_valid())."""
        data = self.cleaned_data
        if data.get("action"):
            qs = qs.filter(action=data["action"])
        if data.get("outcome"):
            qs = qs.filter(outcome=data["outcome"])
        if data.get("date_from"):
            qs = qs.filter(at__date__gte=data["date_from"])
        if data.get("date_to"):
            qs = qs.filter(at__date__lte=data["date_to"])
        if data.get("actor", "").strip():
            qs = qs.filter(actor__email__icontains=data["actor"].strip())
        if data.get("code"):
            code = data["code"]
            qs = qs.filter(Q(object_code=code) | Q(relationship_code=code))
        return qs

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
