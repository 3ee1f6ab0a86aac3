"""Forms of the meeting log, action items and ad-hoc meetings. The services in logs.py check
everything again; the forms give each mistake a message next to its field (R12)."""

from __future__ import annotations

import datetime
import zoneinfo

from django import forms
from django.utils import timezone

from accounts.text import TypedTextFormMixin
from accounts.times import wall_time_error
from sessions_log import logs
from sessions_log.models import TOPICS, Meeting

STATUS_CHOICES = [
    (Meeting.Status.COMPLETED.value, "It took place"),
    (Meeting.Status.NO_SHOW.value, "No-show: one of us did not come"),
    (Meeting.Status.LATE_CANCEL.value, "Cancelled at the last minute"),
]


def _duration_field(required: bool) -> forms.IntegerField:
    return forms.IntegerField(
        required=required,
        min_value=logs.DURATION_MIN,
        max_value=logs.DURATION_MAX,
        label="How long it lasted, in minutes",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


def _topics_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        required=False,
        choices=TOPICS,
        widget=forms.CheckboxSelectMultiple,
        label="What you talked about",
        help_text="Administrators see these categories, never what was said.",
    )


def _reflection_field() -> forms.CharField:
    # SECURITY (R5): CONFIDENTIAL. Only the learner's form has this field; the guide reads the
    # reflection on the meeting page and administrators never see it.
    return forms.CharField(
        required=False,
        max_length=logs.REFLECTION_MAX_CHARS,
        label="Your reflection",
        # The prompts above the field (templates/sessions_log/_reflection_prompts.html) are
        # part of its description for screen readers.
        widget=forms.Textarea(
            attrs={"rows": 8, "aria-describedby": "reflection-prompts id_reflection_helptext"}
        ),
        help_text=f"Optional, up to {logs.REFLECTION_MAX_CHARS:,} characters. You and your "
        "guide see it; program administrators never do.",
    )


def _action_item_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=logs.ACTION_ITEM_MAX_CHARS,
        label="An action item for next time",
        help_text="Optional: something one of you will do before the next meeting. It is "
        "shown at the top of that meeting until it is done.",
    )


class _LogFields(TypedTextFormMixin, forms.Form):
    free_text_fields = ("action_item",)  # a sentence, shown with dir="auto"

    def __init__(self, *args, with_reflection: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_reflection:
            del self.fields["reflection"]

    @property
    def has_reflection(self) -> bool:
        return "reflection" in self.fields


class MeetingLogForm(_LogFields):
    status = forms.ChoiceField(
        choices=STATUS_CHOICES, widget=forms.RadioSelect, label="What happened"
    )
    duration_minutes = _duration_field(required=False)
    topics = _topics_field()
    reflection = _reflection_field()
    action_item = _action_item_field()

    field_order = ["status", "duration_minutes", "topics", "reflection", "action_item"]

    def clean(self):
        data = super().clean()
        if (
            data.get("status") == Meeting.Status.COMPLETED
            and data.get("duration_minutes") is None
            and "duration_minutes" not in self.errors
        ):
            self.add_error("duration_minutes", "Say how long the meeting lasted.")
        return data


class AdhocMeetingForm(_LogFields):
    date = forms.DateField(
        label="Day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(
        label="Time it began", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    duration_minutes = _duration_field(required=True)
    location = forms.CharField(
        required=False,
        max_length=200,
        label="Where",
        help_text="Optional, for example “corridor of ward 4” or “phone call”.",
    )
    topics = _topics_field()
    reflection = _reflection_field()
    action_item = _action_item_field()

    def __init__(self, *args, zone: zoneinfo.ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["start_time"].help_text = f"In your time zone, {zone.key}."

    def clean(self):
        data = super().clean()
        day, at = data.get("date"), data.get("start_time")
        if day is not None and at is not None:
            starts_at = datetime.datetime.combine(day, at, tzinfo=self.zone)
            missing = wall_time_error(starts_at)
            if missing:
                self.add_error("start_time", missing)
            elif starts_at > timezone.now():
                self.add_error(
                    "start_time",
                    "This time is still to come; log a meeting once it has taken place.",
                )
            data["starts_at"] = starts_at
        return data


class ActionItemForm(TypedTextFormMixin, forms.Form):
    free_text_fields = ("text",)  # a sentence, shown with dir="auto"

    text = forms.CharField(
        max_length=logs.ACTION_ITEM_MAX_CHARS,
        label="New action item",
        help_text="Something one of you will do before the next meeting.",
    )
