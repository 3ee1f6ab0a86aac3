"""Text a person typed: what can be stored, and what may be shown to other people (R12, R13).

One rule for every form of the product:

- Nothing that PostgreSQL cannot store gets as far as a query: a NUL character or a broken
  character (a lone surrogate, from a careless client or a bad paste) is refused with a
  sentence that says what to remove, and the form keeps the rest of what was typed.
- One-line text that other people read as a label (a person's name, a program's or a
  survey's title, a place) refuses the invisible characters that reverse or isolate the
  direction of text (U+202A-U+202E, U+2066-U+2069). With them one person could make their
  name or title read as something else to everybody else ("Dr Smith" that ends in "exe.doc").
  Right-to-left scripts themselves (Arabic, Hebrew...) are welcome; only the controls are
  refused.
- Free text (notes, reflections, messages, answers) keeps every character the person typed,
  bidirectional controls included (a Hebrew or Arabic passage may need them); templates show
  it inside an element with `dir="auto"`, so it cannot reorder the text around it.

`TypedTextFormMixin` applies the rule to every text field of a form: the storable check to
all, the direction check to fields with a one-line widget.
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\ud800-\udfff]")

NUL_MESSAGE = (
    "{what} holds an invisible NUL character, which cannot be saved: remove it (it often "
    "comes with text pasted from another program)."
)
BROKEN_MESSAGE = "{what} holds a broken character that cannot be saved: remove it."
BIDI_MESSAGE = (
    "{what} holds invisible characters that change the direction of the text around them, "
    "which could make it read differently to other people: remove them (they often come with "
    "pasted text)."
)


def storable_problem(value: str, what: str = "This text") -> str | None:
    """Why `value` cannot be stored, as a sentence; None when it can."""
    if "\x00" in value:
        return NUL_MESSAGE.format(what=what)
    if _SURROGATES.search(value):
        return BROKEN_MESSAGE.format(what=what)
    return None


def label_problem(value: str, what: str = "This text") -> str | None:
    """Why `value` cannot be a label other people read (a name, a title); None when it can."""
    problem = storable_problem(value, what)
    if problem is None and BIDI_CONTROLS.search(value):
        return BIDI_MESSAGE.format(what=what)
    return problem


def _values(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def validate_storable(value) -> None:
    """Refuse a NUL or a broken character (in a string, or in any item of a list)."""
    for item in _values(value):
        problem = storable_problem(item)
        if problem:
            raise ValidationError(problem, code="null_characters_not_allowed")


def validate_label(value) -> None:
    """`validate_storable`, and refuse the controls that change the direction of text."""
    for item in _values(value):
        problem = label_problem(item)
        if problem:
            raise ValidationError(problem, code="bidi_control")


def text_field_harden(field: forms.Field) -> None:
    """Give one form field the product's text rule (see the module docstring)."""
    if not isinstance(field, forms.CharField) or isinstance(field.widget, forms.HiddenInput):
        return
    kept = [
        v
        for v in field.validators
        if not isinstance(v, ProhibitNullCharactersValidator)
        and v not in (validate_storable, validate_label)
    ]
    one_line = not isinstance(field.widget, forms.Textarea)
    field.validators = [validate_label if one_line else validate_storable, *kept]


class TypedTextFormMixin:
    """Every text field of the form refuses what cannot be stored, and its one-line fields
    the direction controls, each with a sentence; the form keeps what was typed (R12).

    Fields listed in `free_text_fields` keep direction controls even with a one-line widget
    (a search box, a message line)."""

    free_text_fields: tuple[str, ...] = ()
    # Upper bounds for text fields whose model column has none (a TextField): a program's
    # description is a paragraph, not a 100 kB paste.
    max_lengths: dict[str, int] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.text_fields_harden()

    def full_clean(self):
        # Again here: some forms add fields after __init__ (a survey's questions).
        self.text_fields_harden()
        super().full_clean()

    def text_fields_harden(self) -> None:
        for name, field in self.fields.items():
            text_field_harden(field)
            if name in self.free_text_fields and validate_label in field.validators:
                field.validators = [
                    validate_storable if v is validate_label else v for v in field.validators
                ]
            if name in self.max_lengths and field.max_length != self.max_lengths[name]:
                limit = self.max_lengths[name]
                field.max_length = limit
                field.widget.attrs["maxlength"] = str(limit)
                field.validators.append(length_validator(limit))


def length_validator(limit: int):
    """A validator that refuses text longer than `limit` characters, saying by how much."""

    def validate_length(value) -> None:
        if isinstance(value, str) and len(value) > limit:
            raise ValidationError(
                f"Keep this under {limit:,} characters (it has {len(value):,}).",
                code="max_length",
            )

    return validate_length
