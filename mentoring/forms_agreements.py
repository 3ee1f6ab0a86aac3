"""Forms of the mentoring agreement and goals. The services in mentoring/agreements.py check
everything again; the forms give each mistake a message next to its field and keep what was
typed (R12)."""

from __future__ import annotations

from django import forms

from accounts.text import TypedTextFormMixin
from mentoring import agreements
from mentoring.models import Goal, MentoringAgreement

ACKNOWLEDGEMENT_LABEL = (
    "I have read what stays confidential in this relationship and the limits of that "
    "confidentiality"
)


def _acknowledgement_field() -> forms.BooleanField:
    return forms.BooleanField(
        required=False,  # required when agreeing; the form (and the service) says so
        label=ACKNOWLEDGEMENT_LABEL,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "confidentiality"}),
    )


class AgreementForm(TypedTextFormMixin, forms.Form):
    """The agreement's content, and (with `agreeing`) the acknowledgement that agreeing needs."""

    goals = forms.CharField(
        label="Our goals for this term",
        max_length=agreements.AGREEMENT_TEXT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What the two of you want to work on this term. Only you two read this.",
    )
    meeting_frequency = forms.ChoiceField(
        label="How often we will meet",
        choices=MentoringAgreement.Frequency.choices,
        widget=forms.RadioSelect,
    )
    preferred_contact = forms.ChoiceField(
        label="How we prefer to be contacted",
        choices=MentoringAgreement.Contact.choices,
        widget=forms.RadioSelect,
    )
    boundaries = forms.CharField(
        label="Boundaries",
        required=False,
        max_length=agreements.AGREEMENT_TEXT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional: for example times you are not available, or topics either of you "
        "would rather not discuss.",
    )
    acknowledged = _acknowledgement_field()

    def __init__(self, *args, agreeing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.agreeing = agreeing

    def clean(self):
        data = super().clean()
        if self.agreeing and not data.get("acknowledged"):
            self.add_error(
                "acknowledged",
                "Tick the box to confirm you have read what stays confidential and its limits; "
                "you cannot agree without it.",
            )
        return data


class AgreeForm(TypedTextFormMixin, forms.Form):
    """Agreeing to the agreement as it stands (the version the person read)."""

    acknowledged = forms.BooleanField(
        label=ACKNOWLEDGEMENT_LABEL,
        error_messages={
            "required": "Tick the box to confirm you have read what stays confidential and its "
            "limits; you cannot agree without it."
        },
        widget=forms.CheckboxInput(attrs={"aria-describedby": "confidentiality"}),
    )
    version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class GoalForm(TypedTextFormMixin, forms.Form):
    """A goal; the competency field only in coaching relationships."""

    title = forms.CharField(
        label="Goal",
        max_length=agreements.GOAL_TITLE_MAX_CHARS,
        help_text=agreements.SMART_HINT,
    )
    description = forms.CharField(
        label="How you will know it is done",
        required=False,
        max_length=agreements.GOAL_DESCRIPTION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional: the steps, and what will show the goal is reached.",
    )
    domain = forms.ChoiceField(label="Area", choices=Goal.Domain.choices, widget=forms.RadioSelect)
    competency = forms.ChoiceField(
        label="Competency",
        required=False,
        choices=[("", "None"), *Goal.Competency.choices],
        help_text="Optional: the ACGME core competency this goal works on.",
    )
    target_on = forms.DateField(
        label="Target date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The day you aim to reach it by.",
    )

    def __init__(self, *args, with_competency: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_competency:
            del self.fields["competency"]


class GoalProgressForm(TypedTextFormMixin, forms.Form):
    """A progress note, and optionally a new status for the goal (either one is enough)."""

    note = forms.CharField(
        label="Progress note",
        required=False,
        max_length=agreements.PROGRESS_NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What has happened since the last entry.",
    )
    status = forms.ChoiceField(
        label="New status",
        required=False,
        choices=[("", "Keep the status as it is"), *Goal.Status.choices],
    )

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("note", "").strip() and not data.get("status"):
            self.add_error("note", "Write a progress note, or choose a new status.")
        return data
