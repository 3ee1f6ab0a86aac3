"""Forms of the availability and booking pages. Dates and times are typed in the signed-in
person's time zone (views run in it: accounts.times.in_viewer_timezone)."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone

from accounts.forms import timezone_names
from accounts.text import TypedTextFormMixin
from accounts.times import wall_time_error
from sessions_log.availability import MAX_MINUTES, MIN_MINUTES, WEEKDAYS, guide_programs

# Neither field is required alone, but one of the two is: their labels say so instead of
# "(optional)" (includes/form_fields.html reads `requirement_note`).
PLACE_REQUIRED = "Give a room or a video link: one of the two is required, and both are fine."
MAX_DAYS_AHEAD = 366


class _SlotFields(TypedTextFormMixin, forms.Form):
    """Duration, place and the optional restriction to some of the guide's programs."""

    duration_minutes = forms.IntegerField(
        label="Length in minutes",
        min_value=MIN_MINUTES,
        max_value=MAX_MINUTES,
        initial=30,
        widget=forms.NumberInput(attrs={"step": 5, "inputmode": "numeric"}),
    )
    location = forms.CharField(
        label="Room", required=False, max_length=200, help_text="For meeting in person."
    )
    video_link = forms.URLField(
        label="Video link",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="e.g. https://zoom.us/j/123456789",
    )
    programs = forms.ModelMultipleChoiceField(
        label="Only for learners of",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to offer it to your learners in every program.",
    )

    def __init__(self, *args, guide, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].requirement_note = "this or a video link is required"
        self.fields["video_link"].requirement_note = "this or a place to meet in person is required"
        programs = guide_programs(guide).order_by("name")
        self.fields["programs"].queryset = programs
        if programs.count() < 2:
            # One program: there is nothing to restrict to.
            del self.fields["programs"]

    def clean(self):
        data = super().clean()
        no_place = not data.get("location", "").strip() and not data.get("video_link", "").strip()
        if no_place and "location" not in self.errors and "video_link" not in self.errors:
            self.add_error("location", PLACE_REQUIRED)
        return data

    def chosen_programs(self) -> list:
        return list(self.cleaned_data.get("programs") or [])


class SlotForm(_SlotFields):
    """One time the guide offers."""

    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(
        label="Starts at", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    field_order = ["date", "start_time", "duration_minutes", "location", "video_link", "programs"]

    def clean_date(self) -> datetime.date:
        day = self.cleaned_data["date"]
        today = timezone.localdate()
        if day < today:
            raise forms.ValidationError("Choose today or a later day.")
        if day > today + datetime.timedelta(days=MAX_DAYS_AHEAD):
            raise forms.ValidationError("Choose a day within the coming year.")
        return day

    def clean(self):
        data = super().clean()
        if data.get("date") is not None and data.get("start_time") is not None:
            error = wall_time_error(self.starts_at())
            if error:
                self.add_error("start_time", error)
        return data

    def starts_at(self) -> datetime.datetime:
        """The typed date and time in the current (the guide's) time zone (a time that
        happens twice at a clock change: the first)."""
        naive = datetime.datetime.combine(
            self.cleaned_data["date"], self.cleaned_data["start_time"]
        )
        return timezone.make_aware(naive.replace(second=0, microsecond=0))


class PatternForm(_SlotFields):
    """A weekly time the guide offers, expanded into slots some weeks ahead."""

    weekday = forms.TypedChoiceField(
        label="Day of the week", choices=list(enumerate(WEEKDAYS)), coerce=int
    )
    start_time = forms.TimeField(
        label="Starts at", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    timezone = forms.CharField(
        label="Time zone",
        max_length=64,
        widget=forms.TextInput(
            attrs={"list": "timezone-options", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="The day and time are kept in this zone, summer and winter alike.",
    )
    starts_on = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label="Until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to keep offering it.",
    )

    field_order = [
        "weekday",
        "start_time",
        "duration_minutes",
        "timezone",
        "location",
        "video_link",
        "programs",
        "starts_on",
        "ends_on",
    ]

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value not in timezone_names():
            raise forms.ValidationError(
                f"“{value}” is not a time zone we know. Choose one from the suggestions, "
                "e.g. America/New_York.",
                code="unknown_timezone",
            )
        return value

    def clean(self):
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "The last day must be on or after the first.")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "weekday": data["weekday"],
            "start_time": data["start_time"],
            "duration_minutes": data["duration_minutes"],
            "timezone_name": data["timezone"],
            "location": data.get("location", ""),
            "video_link": data.get("video_link", ""),
            "programs": self.chosen_programs(),
            "starts_on": data["starts_on"],
            "ends_on": data.get("ends_on"),
        }


class RescheduleForm(TypedTextFormMixin, forms.Form):
    slot = forms.UUIDField(
        label="New time", error_messages={"required": "Choose a new time from the list."}
    )


class CancelForm(TypedTextFormMixin, forms.Form):
    message = forms.CharField(
        label="A message",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional, up to 1,000 characters. They read it in the app; the email only "
        "says there is a message.",
    )

    def __init__(self, *args, other, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["message"].label = f"A message for {other.full_name}"


class TimeRequestForm(TypedTextFormMixin, forms.Form):
    message = forms.CharField(
        label="When suits you",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional, up to 1,000 characters: e.g. weekday evenings, or before 8:00.",
    )
