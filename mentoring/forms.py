"""Forms of the administrator's console."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import Membership, Role, User
from accounts.text import TypedTextFormMixin
from mentoring.models import Conflict, Program, Relationship, Term


class DateInput(forms.DateInput):
    input_type = "date"


class PersonSelect(forms.Select):
    """A <select> of people rendered in Python: a program's learners can be thousands, and
    Django's template per option took seconds to render them (the same HTML, escaped)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], " selected" if option["selected"] else "", option["label"])
                for _group, choices, _index in widget["optgroups"]
                for option in choices
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options
        )


class PersonChoiceField(forms.ModelChoiceField):
    widget = PersonSelect

    def label_from_instance(self, obj: User) -> str:
        return f"{obj.full_name} ({obj.email})"


class ProgramSettingsForm(TypedTextFormMixin, forms.ModelForm):
    max_lengths = {"description": 4000}

    class Meta:
        model = Program
        fields = [
            "name",
            "description",
            "is_active",
            "expected_meeting_interval_days",
            "pairing",
            "choices_allowed",
            "request_expiry_days",
            "cancel_notice_hours",
            "agreement_due_days",
            "note_retention_days",
            "advising_overlap",
            "assessment_conflict",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"is_active": "Program is running"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.kind != Program.Kind.ADVISING:
            # R2: mentoring and coaching always block; the choice is advising's alone.
            del self.fields["advising_overlap"]


class TermForm(TypedTextFormMixin, forms.ModelForm):
    class Meta:
        model = Term
        fields = ["name", "starts_on", "ends_on"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}
        help_texts = {"name": "e.g. 2026-27 or Fall 2026"}

    def __init__(self, *args, program: Program, **kwargs):
        super().__init__(*args, **kwargs)
        self.program = program
        self.instance.program = program

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on:
            if ends_on <= starts_on:
                self.add_error("ends_on", "The term must end after it starts.")
            else:
                overlapping = (
                    Term.objects.filter(
                        program=self.program, starts_on__lte=ends_on, ends_on__gte=starts_on
                    )
                    .exclude(pk=self.instance.pk)
                    .first()
                )
                if overlapping:
                    self.add_error(
                        None,
                        f"These dates overlap the term {overlapping.name} "
                        f"({overlapping.starts_on} to {overlapping.ends_on}).",
                    )
        name = cleaned.get("name")
        if (
            name
            and Term.objects.filter(program=self.program, name=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("name", f"{self.program} already has a term called {name}.")
        return cleaned


def program_guides(program: Program):
    """People who currently hold the program's guide role."""
    return _members(program, program.guide_role)


def _members(program: Program, role: str):
    return (
        User.objects.filter(
            memberships__in=Membership.objects.current().filter(program=program, role=role)
        )
        .distinct()
        .order_by("full_name", "email")
    )


class PairingForm(TypedTextFormMixin, forms.Form):
    """Pair a learner with a guide by hand; the rules are applied by the service."""

    learner = PersonChoiceField(queryset=User.objects.none())
    guide = PersonChoiceField(queryset=User.objects.none())
    started_on = forms.DateField(label="Starts on", widget=DateInput())
    ends_on = forms.DateField(label="Planned end", required=False, widget=DateInput())
    term = forms.ModelChoiceField(queryset=Term.objects.none(), required=False)

    def __init__(self, *args, program: Program, **kwargs):
        super().__init__(*args, **kwargs)
        self.program = program
        self.fields["learner"].queryset = _members(program, Role.LEARNER)
        self.fields["guide"].queryset = _members(program, program.guide_role)
        self.fields["guide"].label = Role(program.guide_role).label
        self.fields["term"].queryset = program.terms.all()
        self.fields["started_on"].initial = timezone.localdate()

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("started_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "The planned end is before the start.")
        return cleaned


class EndRelationshipForm(TypedTextFormMixin, forms.Form):
    reason = forms.ChoiceField(
        choices=[
            (value, label)
            for value, label in Relationship.EndReason.choices
            if value != Relationship.EndReason.DECLINED
        ]
    )
    ends_on = forms.DateField(label="Last day", widget=DateInput())

    def __init__(self, *args, relationship: Relationship, **kwargs):
        super().__init__(*args, **kwargs)
        self.relationship = relationship
        self.fields["ends_on"].initial = timezone.localdate()

    def clean_ends_on(self):
        ends_on = self.cleaned_data["ends_on"]
        if ends_on < self.relationship.started_on:
            raise forms.ValidationError(
                f"The relationship started on {self.relationship.started_on}; it cannot end "
                "before that."
            )
        return ends_on


class ConflictResolveForm(TypedTextFormMixin, forms.Form):
    ACTIONS = [
        ("end_relationship", "End the relationship (the assessment role stands)"),
        ("transfer", "Transfer the learner to another guide"),
        ("reject_assessment", "Reject the assessment role (the relationship continues)"),
        ("acknowledge", "Acknowledge: the program allows this advising overlap"),
    ]

    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect)
    new_guide = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="New guide (for a transfer)"
    )

    def __init__(self, *args, conflict: Conflict, guides: list[User] | None = None, **kwargs):
        """`guides`: the program's guides, fetched once by the caller for a page of forms."""
        super().__init__(*args, **kwargs)
        self.conflict = conflict
        program = conflict.program
        if guides is None:
            guides = list(_members(program, program.guide_role))
        self._guides = {g.pk: g for g in guides if g.pk != conflict.relationship.guide_id}
        if conflict.kind != Conflict.Kind.FLAGGED_OVERLAP:
            self.fields["action"].choices = [a for a in self.ACTIONS if a[0] != "acknowledge"]
        self.fields["new_guide"].choices = [("", "Choose a guide")] + [
            (g.pk, f"{g.full_name} ({g.email})") for g in self._guides.values()
        ]
        prefix = f"conflict-{conflict.code}"
        self.fields["action"].widget.attrs["id"] = f"{prefix}-action"
        self.fields["new_guide"].widget.attrs["id"] = f"{prefix}-new-guide"

    def clean(self):
        cleaned = super().clean()
        guide_pk = cleaned.get("new_guide")
        cleaned["new_guide"] = self._guides.get(guide_pk) if guide_pk else None
        if cleaned.get("action") == "transfer" and not cleaned["new_guide"]:
            self.add_error("new_guide", "Choose the guide to transfer the learner to.")
        return cleaned


class PeopleFilterForm(TypedTextFormMixin, forms.Form):
    free_text_fields = ("q",)  # a search, shown to nobody else

    q = forms.CharField(label="Search by name or email", required=False, max_length=100)
    role = forms.ChoiceField(
        required=False,
        choices=[("", "All roles")] + [(r.value, r.label) for r in Role if r not in (Role.DEAN,)],
    )


class RelationshipFilterForm(TypedTextFormMixin, forms.Form):
    free_text_fields = ("q",)  # a search, shown to nobody else

    q = forms.CharField(label="Search by name", required=False, max_length=100)
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Current (active or paused)"),
            ("all", "All"),
            *list(Relationship.Status.choices),
        ],
    )
