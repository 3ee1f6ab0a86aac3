"""Forms of the administrator's console."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import Membership, Role, User
from accounts.text import TypedTextFormMixin
from mentoring import rules
from mentoring.models import Conflict, Program, Relationship, RematchRequest, Term


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


class ReasonSelect(forms.Select):
    """A select whose options the rules would refuse are shown disabled, each with the reason
    after its name; `notes` adds a word to the options that can succeed (e.g. places left)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refusals: dict[str, str] = {}
        self.notes: dict[str, str] = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        key = str(getattr(value, "value", value))
        if key in self.refusals:
            option["attrs"] = {**option["attrs"], "disabled": True}
            option["label"] = f"{label}: {self.refusals[key]}"
        elif key in self.notes:
            option["label"] = f"{label} ({self.notes[key]})"
        return option


def _places(left: int) -> str:
    return f"{left} place{'' if left == 1 else 's'} left"


def guide_choice_reasons(
    rooms: list[rules.GuideRoom], *, learner_id=None, assessors=frozenset(), leaving=None
) -> tuple[dict[str, str], dict[str, str]]:
    """For a choice of guide: (refusals, notes) by guide id, from the rules' own answers: no
    place left (R3, rules.places_left), assesses this learner (R2, rules.assessors_refused), or
    the guide the learner is leaving."""
    refusals, notes = {}, {}
    for room in rooms:
        key = str(room.user.pk)
        if leaving is not None and room.user.pk == leaving:
            refusals[key] = "the learner is leaving this guide"
        elif (learner_id, room.user.pk) in assessors:
            refusals[key] = "assesses this learner"
        elif not room.left:
            refusals[key] = room.refusal()
        else:
            notes[key] = _places(room.left)
    return refusals, notes


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


def unpaired_learners(program: Program):
    """The program's current learners without a current relationship of its kind (R3 allows
    one): the only learners a new pairing can take."""
    return _members(program, Role.LEARNER).exclude(
        pk__in=Relationship.objects.current()
        .filter(program=program, kind=program.kind)
        .values("learner_id")
    )


class PairingForm(TypedTextFormMixin, forms.Form):
    """Pair a learner with a guide by hand; the rules are applied by the service. Only the
    choices that can succeed are offered: learners without a current relationship of the
    program's kind, and guides with a place left (the others are shown disabled, with why)."""

    learner = PersonChoiceField(
        queryset=User.objects.none(),
        error_messages={
            "invalid_choice": "That learner cannot be paired now: they may have been paired "
            "meanwhile. Choose another learner."
        },
    )
    guide = PersonChoiceField(queryset=User.objects.none(), widget=ReasonSelect)
    started_on = forms.DateField(label="Starts on", widget=DateInput())
    ends_on = forms.DateField(label="Planned end", required=False, widget=DateInput())
    term = forms.ModelChoiceField(queryset=Term.objects.none(), required=False)

    def __init__(self, *args, program: Program, **kwargs):
        super().__init__(*args, **kwargs)
        self.program = program
        noun = Role(program.guide_role).label.lower()
        self.fields["learner"].queryset = unpaired_learners(program)
        kind = program.get_kind_display().lower()
        self.fields["learner"].help_text = (
            f"Learners with a current {kind} relationship in this program are not listed: "
            "end it first."
            if self.fields["learner"].queryset.exists()
            else f"Every learner of {program} has a current {kind} relationship: there is "
            "nobody to pair now."
        )
        self.fields["guide"].queryset = _members(program, program.guide_role)
        self.fields["guide"].label = Role(program.guide_role).label
        self.rooms = rules.guides_room(program)
        widget = self.fields["guide"].widget
        widget.refusals, widget.notes = guide_choice_reasons(self.rooms)
        if not any(room.left for room in self.rooms):
            self.fields[
                "guide"
            ].help_text = f"No {noun} has a place left: raise a capacity on the People page first."
        self.fields["term"].queryset = program.terms.all()
        self.fields["term"].initial = program.matching_term()
        self.fields["started_on"].initial = timezone.localdate()

    def leaving(self, learner) -> None:
        """The learner is chosen already (arriving from a granted rematch): the guide they left
        on a no-fault rematch is shown disabled, as the matcher never pairs them again."""
        last = (
            Relationship.objects.filter(
                program=self.program, learner=learner, status=Relationship.Status.ENDED
            )
            .order_by("-ends_on", "-pk")
            .first()
        )
        if last is not None and last.end_reason == Relationship.EndReason.NO_FAULT_REMATCH:
            widget = self.fields["guide"].widget
            widget.refusals[str(last.guide_id)] = (
                f"{learner.full_name} asked to leave them (no-fault rematch)"
            )

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
        coerce=int,
        required=False,
        empty_value=None,
        label="New guide (for a transfer)",
        widget=ReasonSelect,
    )

    def __init__(
        self,
        *args,
        conflict: Conflict,
        rooms: list[rules.GuideRoom] | None = None,
        assessors: set[tuple[int, int]] | None = None,
        **kwargs,
    ):
        """`rooms` (rules.guides_room) and `assessors` (rules.assessors_refused): fetched once
        by the caller for a page of forms. Guides without a place, or who assess the learner,
        are shown disabled with the reason."""
        super().__init__(*args, **kwargs)
        self.conflict = conflict
        program = conflict.program
        relationship = conflict.relationship
        if rooms is None:
            rooms = rules.guides_room(program)
        if assessors is None:
            assessors = rules.assessors_refused(
                program=program, learners=[relationship.learner_id], starts_on=timezone.localdate()
            )
        rooms = [r for r in rooms if r.user.pk != relationship.guide_id]
        self._guides = {r.user.pk: r.user for r in rooms}
        if conflict.kind != Conflict.Kind.FLAGGED_OVERLAP:
            self.fields["action"].choices = [a for a in self.ACTIONS if a[0] != "acknowledge"]
        field = self.fields["new_guide"]
        field.choices = [("", "Choose a guide")] + [
            (r.user.pk, f"{r.user.full_name} ({r.user.email})") for r in rooms
        ]
        field.widget.refusals, field.widget.notes = guide_choice_reasons(
            rooms, learner_id=relationship.learner_id, assessors=assessors
        )
        prefix = f"conflict-{conflict.code}"
        self.fields["action"].widget.attrs["id"] = f"{prefix}-action"
        field.widget.attrs["id"] = f"{prefix}-new-guide"

    def clean(self):
        cleaned = super().clean()
        guide_pk = cleaned.get("new_guide")
        cleaned["new_guide"] = self._guides.get(guide_pk) if guide_pk else None
        if cleaned.get("action") == "transfer" and not cleaned["new_guide"]:
            self.add_error("new_guide", "Choose the guide to transfer the learner to.")
        return cleaned


class RematchGrantForm(TypedTextFormMixin, forms.Form):
    """Grant a rematch request: the relationship ends without fault and, where the
    administrator pairs (not self-match), the learner may be paired at once with a guide who
    has a place left. Leaving the choice empty leaves the learner unpaired for now."""

    new_guide = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, widget=ReasonSelect
    )

    def __init__(self, *args, rematch: RematchRequest, **kwargs):
        super().__init__(*args, **kwargs)
        relationship = rematch.relationship
        program = relationship.program
        self.rematch = rematch
        self.learner = relationship.learner
        rooms = rules.guides_room(program)
        assessors = rules.assessors_refused(
            program=program, learners=[relationship.learner_id], starts_on=timezone.localdate()
        )
        refusals, notes = guide_choice_reasons(
            rooms,
            learner_id=relationship.learner_id,
            assessors=assessors,
            leaving=relationship.guide_id,
        )
        # Who can take the learner: a place left, no assessment of them, not the guide left.
        self.open_rooms = [r for r in rooms if str(r.user.pk) not in refusals]
        self.can_choose = program.pairing == Program.Pairing.ADMINISTRATOR
        # Any other guide of the program is accepted here: the rules refuse, with their words,
        # one who cannot take the learner (a choice made before the page changed).
        self._guides = {r.user.pk: r.user for r in rooms if r.user.pk != relationship.guide_id}
        self.noun = Role(program.guide_role).label.lower()
        field = self.fields["new_guide"]
        field.label = f"New {self.noun}"
        field.choices = [("", f"Nobody yet: pair {self.learner.full_name} later")] + [
            (r.user.pk, f"{r.user.full_name} ({r.user.email})")
            for r in rooms
            if r.user.pk != relationship.guide_id
        ]
        field.widget.refusals, field.widget.notes = refusals, notes
        field.help_text = (
            f"With nobody yet, {self.learner.full_name} stays without a {self.noun} until you "
            "pair them from Relationships or in the next match run."
        )
        if not self.can_choose:
            del self.fields["new_guide"]

    def clean_new_guide(self):
        guide_pk = self.cleaned_data["new_guide"]
        if guide_pk is None:
            return None
        guide = self._guides.get(guide_pk)
        if guide is None:
            raise forms.ValidationError(
                f"Choose a {self.noun} of {self.rematch.relationship.program} other than "
                f"{self.rematch.relationship.guide}, or nobody yet."
            )
        return guide


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
