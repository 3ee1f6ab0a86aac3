"""Forms of a person's own account pages, and the password they choose by an emailed link."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from allauth.account.forms import ResetPasswordKeyForm
from django import forms
from django.db import transaction

from accounts.models import WEEK_DAYS, WEEK_PARTS, ParticipantProfile, User
from accounts.text import TypedTextFormMixin

_SEPARATORS = re.compile(r"[,;]")


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA time zone name this server knows, sorted (the model validates against it)."""
    return tuple(sorted(zoneinfo.available_timezones()))


class TagListField(forms.CharField):
    """A list of words or phrases typed as one line, separated by commas or semicolons.

    Cleans to a list with blanks and repeats (ignoring case) dropped, order kept. A bound form
    shows what was typed, an unbound one the stored list joined with commas.
    """

    def __init__(self, *, max_items: int = 30, max_item_length: int = 100, **kwargs):
        kwargs.setdefault("required", False)
        self.max_items = max_items
        self.max_item_length = max_item_length
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        items: list[str] = []
        seen: set[str] = set()
        for part in _SEPARATORS.split(text):
            item = " ".join(part.split())
            if item and item.casefold() not in seen:
                seen.add(item.casefold())
                items.append(item)
        return items

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        too_long = [item for item in value if len(item) > self.max_item_length]
        if too_long:
            raise forms.ValidationError(
                f"Keep each entry under {self.max_item_length} characters "
                f"(too long: {too_long[0][:40]}…).",
                code="item_too_long",
            )
        if len(value) > self.max_items:
            raise forms.ValidationError(
                f"List at most {self.max_items} entries (you listed {len(value)}).",
                code="too_many_items",
            )

    def has_changed(self, initial, data) -> bool:
        return list(initial or []) != self.to_python(data)


_LIST_HELP = "Separate entries with commas or semicolons."


class ProfileForm(TypedTextFormMixin, forms.ModelForm):
    """The signed-in person's own profile, and their name on their account.

    `save()` writes both the profile (created if missing) and, on the user, full_name and
    nudge_emails (how often to get non-essential nudges).
    """

    full_name = forms.CharField(
        label="Full name",
        max_length=User._meta.get_field("full_name").max_length,
        help_text="As people in your programs see it.",
    )
    specialty_interests = TagListField(
        label="Specialty interests", help_text=f"e.g. Pediatrics; Emergency medicine. {_LIST_HELP}"
    )
    research_interests = TagListField(
        label="Research interests", help_text=f"e.g. Health equity, Sepsis. {_LIST_HELP}"
    )
    languages = TagListField(label="Languages", help_text=f"e.g. English, Spanish. {_LIST_HELP}")
    shared_background = TagListField(
        label="Shared background (optional)",
        help_text="Optional. Backgrounds you would like a mentor to have in common with you, "
        "e.g. first-generation college student. Used only for matching and never shown to "
        f"other people, including your mentor, coach or advisor. {_LIST_HELP}",
    )
    timezone = forms.CharField(
        label="Time zone",
        max_length=ParticipantProfile._meta.get_field("timezone").max_length,
        widget=forms.TextInput(
            attrs={"list": "timezone-options", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Start typing a city, e.g. America/Chicago or Europe/London, and choose from "
        "the suggestions.",
    )

    nudge_emails = forms.ChoiceField(
        label=User._meta.get_field("nudge_emails").verbose_name.capitalize(),
        choices=User._meta.get_field("nudge_emails").choices,
        required=False,  # left out (an older page, a script): the current choice stays
        widget=forms.RadioSelect,
        help_text="Reminders like “log this meeting”. Bookings, changes, cancellations and "
        "meeting reminders are always sent.",
    )

    availability = forms.TypedMultipleChoiceField(
        label="When you are usually free",
        required=False,
        coerce=int,
        choices=[(bit, label) for bit, label in WEEK_PARTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Mornings 8-12, afternoons 13-17, evenings 18-22, in your time zone. "
        "Matching prefers people whose free times overlap.",
    )

    class Meta:
        model = ParticipantProfile
        fields = [
            "level",
            "cohort",
            "track",
            "campus",
            "specialty_interests",
            "research_interests",
            "languages",
            "shared_background",
            "timezone",
            "contact_preference",
            "availability",
        ]
        labels = {"contact_preference": "How you prefer to be contacted"}
        help_texts = {
            "contact_preference": "e.g. Email first; text for urgent matters. Shown to the "
            "people you are in a relationship with.",
            "track": "e.g. MD, MD-PhD, Categorical",
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["full_name"].initial = user.full_name
        self.fields["nudge_emails"].initial = user.nudge_emails
        self.fields["level"].choices = [("", "Not stated"), *ParticipantProfile.Level.choices]
        if not self.is_bound:
            self.initial["availability"] = [
                bit for bit, _ in WEEK_PARTS if (self.instance.availability or 0) >> bit & 1
            ]
        # Name first: it is what people recognise.
        self.order_fields(["full_name", *self._meta.fields])

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def clean_nudge_emails(self) -> str:
        return self.cleaned_data["nudge_emails"] or self.user.nudge_emails

    def availability_rows(self) -> list[tuple[str, list]]:
        """The availability checkboxes as a week grid: (day, [morning, afternoon, evening])."""
        boxes = list(self["availability"])
        return [(day, boxes[3 * d : 3 * d + 3]) for d, day in enumerate(WEEK_DAYS)]

    def clean_availability(self) -> int:
        return sum(1 << bit for bit in set(self.cleaned_data["availability"]))

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value not in timezone_names():
            raise forms.ValidationError(
                f"“{value}” is not a time zone we know. Choose one from the suggestions, "
                "e.g. America/New_York.",
                code="unknown_timezone",
            )
        return value

    @transaction.atomic
    def save(self) -> ParticipantProfile:
        profile = super().save(commit=False)
        profile.user = self.user
        profile.save()
        changed = [
            field
            for field in ("full_name", "nudge_emails")
            if getattr(self.user, field) != self.cleaned_data[field]
        ]
        for field in changed:
            setattr(self.user, field, self.cleaned_data[field])
        if changed:
            self.user.save(update_fields=changed)
        return profile


class PasswordChooseForm(ResetPasswordKeyForm):
    """allauth's form behind the emailed link (the invitation's too), in plain words and with
    the hints password managers read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].label = "Password"
        self.fields["password2"].label = "Password again"
        for name in ("password1", "password2"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"
            self.fields[name].widget.attrs.pop("placeholder", None)
