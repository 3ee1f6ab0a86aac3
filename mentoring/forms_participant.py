"""Forms of the learner's and guide's own pages: an informal relationship, a rematch request."""

from __future__ import annotations

import operator
from functools import reduce

from django import forms
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.text import TypedTextFormMixin
from mentoring.models import Program, RematchRequest


def _guide_role_filter() -> Q:
    """Memberships whose role is the guide role of their own program (mentor in a mentoring
    program, coach in a coaching one, advisor in an advising one); Program.guide_role decides."""
    return reduce(
        operator.or_,
        (Q(program__kind=kind, role=Program(kind=kind).guide_role) for kind in Program.Kind.values),
    )


class InformalRelationshipForm(TypedTextFormMixin, forms.Form):
    """A learner records a relationship they started themselves; the guide then confirms it.

    The guide is chosen from a list (grouped by program) of the people who hold the guide role
    of one of the learner's programs, never typed, so a learner cannot name an arbitrary person.
    `cleaned_data["guide"]` is the chosen User.
    """

    program = forms.ModelChoiceField(
        queryset=Program.objects.none(),
        to_field_name="code",
        empty_label="Choose a program",
        help_text="Programs in which you are a learner.",
    )
    guide = forms.ChoiceField(
        label="Mentor, coach or advisor",
        help_text="People are listed under the program in which they guide. Choose someone "
        "listed under the program you chose above.",
    )
    started_on = forms.DateField(
        label="Started on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Optional: when you began meeting. Leave it empty for today. "
        "It cannot be in the future.",
    )

    def __init__(self, *args, learner, **kwargs):
        super().__init__(*args, **kwargs)
        self.learner = learner
        programs = Program.objects.active().filter(
            pk__in=Membership.objects.current()
            .filter(user=learner, role=Role.LEARNER, program__isnull=False)
            .values("program")
        )
        self.fields["program"].queryset = programs
        memberships = (
            Membership.objects.current()
            .filter(_guide_role_filter(), program__in=programs)
            .exclude(user=learner)  # R1: never offer the learner as their own guide
            .select_related("user", "program")
            .order_by("program__name", "user__full_name", "user__email")
        )
        self._guides: dict[tuple[int, str], object] = {}
        groups: dict[str, list[tuple[str, str]]] = {}
        for membership in memberships:
            code = str(membership.user.code)
            self._guides[(membership.program_id, code)] = membership.user
            label = str(membership.user)
            groups.setdefault(membership.program.name, []).append((code, label))
        self.fields["guide"].choices = [("", "Choose a person"), *groups.items()]
        self.has_guides = bool(self._guides)

    def clean_started_on(self):
        started_on = self.cleaned_data.get("started_on")
        if started_on is not None and started_on > timezone.localdate():
            raise forms.ValidationError("The start date cannot be in the future.")
        return started_on

    def clean(self):
        cleaned = super().clean()
        program = cleaned.get("program")
        code = cleaned.get("guide")
        if program is not None and code:
            guide = self._guides.get((program.pk, code))
            if guide is None:
                role = Role(program.guide_role).label.lower()
                self.add_error(
                    "guide",
                    f"This person is not a {role} in {program}. Choose someone listed under "
                    f"{program}.",
                )
            else:
                cleaned["guide"] = guide
        return cleaned


class RematchRequestForm(TypedTextFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=RematchRequest._meta.get_field("reason").max_length,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Only the program administrator reads this. Your guide is never shown it, "
        "and is not told that you asked.",
    )

    def __init__(self, *args, guide_noun: str = "guide", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = (
            f"Only the program administrator reads this. Your {guide_noun} is never shown it, "
            "and is not told that you asked."
        )
