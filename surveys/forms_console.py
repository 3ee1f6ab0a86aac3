"""Forms of the administrators' survey pages: template settings, questions, hand-made
campaigns. Validation keeps what was typed (R12); the rules that protect past results are
explained to the administrator in the error itself."""

from __future__ import annotations

import datetime
import re
import uuid

from django import forms
from django.utils import timezone

from accounts.text import TypedTextFormMixin
from surveys.models import LIKERT_LABELS, Campaign, Question, Section, SurveyTemplate

MAX_CHOICES = 20
MAX_REMINDERS = 5
CHOICE_LINE = re.compile(r"^([a-z0-9][a-z0-9_-]{0,49})\s*:\s*(.+)$")


def parse_reminder_days(text: str, *, open_days: int | None) -> list[int]:
    """ "4, 10" -> [4, 10]: whole days after opening, each before the campaign closes."""
    days = []
    for part in re.split(r"[,\s;]+", text.strip()):
        if not part:
            continue
        if not part.isdigit():
            raise forms.ValidationError(
                f"“{part}” is not a whole number of days. Write days after opening, "
                "separated by commas, e.g. 4, 10."
            )
        days.append(int(part))
    days = sorted(set(days))
    if len(days) > MAX_REMINDERS:
        raise forms.ValidationError(f"At most {MAX_REMINDERS} reminders.")
    for day in days:
        if day < 1 or (open_days is not None and day >= open_days):
            limit = f"1 and {open_days - 1}" if open_days and open_days > 1 else "1 and more"
            raise forms.ValidationError(
                f"A reminder on day {day} would not fall while the survey is open: use days "
                f"between {limit}."
            )
    return days


class ReminderDaysField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Remind people who have not answered, days after opening")
        kwargs.setdefault("help_text", "Separated by commas, e.g. 4, 10. Leave empty for none.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value


class TemplateSettingsForm(TypedTextFormMixin, forms.ModelForm):
    max_lengths = {"introduction": 4000}

    reminder_days = ReminderDaysField()

    class Meta:
        model = SurveyTemplate
        fields = [
            "name",
            "introduction",
            "is_active",
            "open_days",
            "reminder_days",
            "first_after_days",
            "repeat_every_days",
            "named_follow_up",
        ]
        widgets = {"introduction": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "is_active": "Start new campaigns from this template",
            "open_days": "Days each campaign stays open",
            "first_after_days": "First check-in, days after a relationship starts",
            "repeat_every_days": "Then every this many days (0: once only)",
            "named_follow_up": "Named follow-up: administrators see who has not answered",
        }
        help_texts = {
            "is_active": "",
            "named_follow_up": "People are told so on the check-in form. Applies to "
            "check-ins started from now on; their answers stay anonymous.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.kind != SurveyTemplate.Kind.CHECK_IN:
            for name in ("first_after_days", "repeat_every_days", "named_follow_up"):
                del self.fields[name]

    def clean_reminder_days(self):
        text = self.cleaned_data.get("reminder_days") or ""
        open_days = self.data.get(self.add_prefix("open_days"))
        try:
            open_days = int(open_days)
        except (TypeError, ValueError):
            open_days = None
        return parse_reminder_days(text, open_days=open_days)


def format_choices(question: Question) -> str:
    """The choices as the editor shows them: "key: label" lines; Likert labels one a line."""
    if question.kind == Question.Kind.LIKERT:
        labels = question.choices or LIKERT_LABELS
        return "\n".join(
            str(entry[1]) if isinstance(entry, list | tuple) else str(entry) for entry in labels
        )
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        return "\n".join(f"{key}: {label}" for key, label in question.choices)
    return ""


def _key_from_label(label: str, taken: set[str], index: int) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or f"choice_{index}"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def parse_choices(text: str, kind: str) -> list[list[str]]:
    """The choices typed in the editor, as stored: [[key, label], ...]. Raises ValidationError
    naming the line at fault."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if kind == Question.Kind.LIKERT:
        if not lines:
            return [list(pair) for pair in LIKERT_LABELS]
        if len(lines) != len(LIKERT_LABELS):
            raise forms.ValidationError(
                f"An agreement question has exactly 5 points, one label a line, from the "
                f"lowest to the highest; you wrote {len(lines)}."
            )
        return [[str(i), label[:200]] for i, label in enumerate(lines, start=1)]
    if kind not in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        return []
    if len(lines) < 2:
        raise forms.ValidationError("Give at least two choices, one a line.")
    if len(lines) > MAX_CHOICES:
        raise forms.ValidationError(f"At most {MAX_CHOICES} choices.")
    choices, taken = [], set()
    for i, line in enumerate(lines, start=1):
        match = CHOICE_LINE.match(line)
        if match:
            key, label = match.group(1), match.group(2).strip()
        else:
            key, label = _key_from_label(line, taken, i), line
        if len(label) > 200:
            raise forms.ValidationError(f"Line {i}: a label has at most 200 characters.")
        if key in taken:
            raise forms.ValidationError(f"Line {i}: the key “{key}” is used twice.")
        taken.add(key)
        choices.append([key, label])
    return choices


class QuestionForm(TypedTextFormMixin, forms.ModelForm):
    """Add or change a question. `answers`: how many answers past campaigns gave to it;
    `answered_keys`: the choices they used; `locked_by`: an open campaign using the template
    (its people are answering now, so the questions' structure cannot change)."""

    max_lengths = {"choices_text": 10_000}

    choices_text = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One a line. For one or several choices, “key: label” (e.g. “yes: Yes”) or "
        "just the label; for an agreement question, the five labels from lowest to highest "
        "(empty: Strongly disagree … Strongly agree).",
    )

    field_order = [
        "prompt",
        "help_text",
        "kind",
        "choices_text",
        "key",
        "required",
        "section",
        "min_value",
        "max_value",
        "offers_rematch_on",
        "retired",
    ]

    class Meta:
        model = Question
        fields = [
            "prompt",
            "help_text",
            "kind",
            "key",
            "required",
            "section",
            "min_value",
            "max_value",
            "offers_rematch_on",
            "retired",
        ]
        labels = {
            "prompt": "Question",
            "help_text": "Help under the question",
            "kind": "Kind of answer",
            "key": "Key",
            "required": "An answer is required",
            "min_value": "Smallest number allowed",
            "max_value": "Largest number allowed",
            "offers_rematch_on": "Offer a no-fault rematch when this choice is picked",
            "retired": "Retired: no longer asked",
        }
        help_texts = {
            "key": "A short stable name used in results and dashboards across programs, "
            "e.g. relationship_satisfaction (lower case, digits, - and _).",
            "offers_rematch_on": "The key of one of the choices (check-ins only).",
            "min_value": "Number questions only.",
            "max_value": "Number questions only.",
            "retired": "Campaigns started from now leave it out; the answers it already has "
            "stay in past results. Untick to ask it again.",
        }

    def __init__(
        self,
        *args,
        template: SurveyTemplate,
        answers: int = 0,
        answered_keys: set[str] | None = None,
        locked_by: Campaign | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.template = template
        self.instance.template = template
        self.answers = answers
        self.answered_keys = answered_keys or set()
        self.locked_by = locked_by
        self.fields["section"].queryset = Section.objects.filter(template=template)
        self.fields["section"].empty_label = "No section"
        if self.instance.pk:
            self.fields["choices_text"].initial = format_choices(self.instance)
        if template.kind != SurveyTemplate.Kind.CHECK_IN:
            del self.fields["offers_rematch_on"]
        if not self.instance.pk:
            del self.fields["retired"]  # a new question is asked; retiring comes later
        if self.instance.pk and (answers or locked_by):
            why = self._why_fixed()
            self.fields["kind"].help_text = f"Cannot change: {why}"
            if answers:
                self.fields["key"].help_text = f"Cannot change: {why}"

    def _why_fixed(self) -> str:
        if self.answers:
            return (
                f"{self.answers} answer{'s' if self.answers != 1 else ''} from past campaigns "
                "would no longer read right. Add a new question instead."
            )
        return (
            f"the campaign “{self.locked_by.title}” is open and people are answering it. "
            "Change it after it closes."
        )

    def clean_key(self):
        key = self.cleaned_data["key"]
        if self.instance.pk and self.answers and key != self.instance.key:
            raise forms.ValidationError(
                f"Keep the key “{self.instance.key}”: results of past campaigns are compared by it."
            )
        if (
            Question.objects.filter(template=self.template, key=key)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise forms.ValidationError(f"This survey already has a question with key “{key}”.")
        return key

    def clean_retired(self):
        retired = self.cleaned_data["retired"]
        if self.locked_by and retired != self.instance.retired:
            raise forms.ValidationError(
                f"The campaign “{self.locked_by.title}” is open and people are answering it: "
                + ("retire" if retired else "bring back")
                + " the question after it closes."
            )
        return retired

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if self.instance.pk and kind != self.instance.kind and (self.answers or self.locked_by):
            raise forms.ValidationError(f"Keep the kind of answer: {self._why_fixed()}")
        return kind

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not kind:
            return cleaned
        try:
            choices = parse_choices(cleaned.get("choices_text") or "", kind)
        except forms.ValidationError as error:
            self.add_error("choices_text", error)
            return cleaned
        keys = [key for key, _ in choices]
        missing = sorted(self.answered_keys - set(keys)) if kind != Question.Kind.LIKERT else []
        if missing and kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            self.add_error(
                "choices_text",
                "Keep the choice"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(f"“{k}”" for k in missing)
                + ": past answers chose "
                + ("them" if len(missing) > 1 else "it")
                + ". You may reword the label.",
            )
        if (
            self.locked_by
            and self.instance.pk
            and kind == self.instance.kind
            and [k for k, _ in self.instance.choices] != keys
            and kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE)
        ):
            self.add_error(
                "choices_text",
                f"The campaign “{self.locked_by.title}” is open: choices can be reworded but "
                "not added, removed or re-keyed until it closes.",
            )
        cleaned["choices"] = choices
        low, high = cleaned.get("min_value"), cleaned.get("max_value")
        if kind == Question.Kind.NUMBER:
            if low is not None and high is not None and low > high:
                self.add_error("max_value", "The largest number must not be below the smallest.")
        else:
            cleaned["min_value"] = cleaned["max_value"] = None
        rematch = cleaned.get("offers_rematch_on") or ""
        if rematch:
            if kind != Question.Kind.SINGLE:
                self.add_error(
                    "offers_rematch_on", "Only a one-choice question can offer a rematch."
                )
            elif rematch not in keys:
                self.add_error(
                    "offers_rematch_on",
                    f"“{rematch}” is not one of the choices' keys ({', '.join(keys)}).",
                )
        return cleaned

    def save(self, commit=True):
        self.instance.choices = self.cleaned_data["choices"]
        return super().save(commit=commit)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


# A hand-made campaign is of the kind its survey is run as on the calendar.
CAMPAIGN_KIND = {
    SurveyTemplate.Kind.LEARNER_END: Campaign.Kind.END_OF_TERM,
    SurveyTemplate.Kind.GUIDE_END: Campaign.Kind.END_OF_TERM,
    SurveyTemplate.Kind.CHECK_IN: Campaign.Kind.CHECK_IN,
    SurveyTemplate.Kind.WELLBEING: Campaign.Kind.WELLBEING,
}


class CampaignForm(TypedTextFormMixin, forms.ModelForm):
    """A campaign made by hand (or the dates of a scheduled one). It opens at `opens_at` by
    the campaign task, which invites the template's audience among the program's current
    relationships (or the term's, when a term is chosen)."""

    reminder_days = ReminderDaysField()

    class Meta:
        model = Campaign
        fields = ["template", "title", "term", "opens_at", "closes_at", "reminder_days"]
        widgets = {"opens_at": DateTimeInput(), "closes_at": DateTimeInput()}
        labels = {
            "template": "Survey",
            "term": "About the term",
            "opens_at": "Opens",
            "closes_at": "Closes",
        }
        help_texts = {
            "term": "End-of-term surveys ask the people of the term's relationships; empty: "
            "the current ones.",
        }

    def __init__(self, *args, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.program = program
        self.instance.program = program
        self.fields["template"].queryset = program.survey_templates.filter(is_active=True)
        self.fields["term"].queryset = program.terms.all()
        self.fields["term"].required = False
        for name in ("opens_at", "closes_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        if self.instance.pk:
            # The survey of a campaign is fixed once made.
            del self.fields["template"]
        else:
            start = timezone.localtime().replace(minute=0, second=0, microsecond=0)
            start += datetime.timedelta(hours=1)
            self.initial.setdefault("opens_at", start)
            self.initial.setdefault("closes_at", start + datetime.timedelta(days=14))

    def clean_opens_at(self):
        opens_at = self.cleaned_data["opens_at"]
        if opens_at < timezone.now() - datetime.timedelta(minutes=5):
            raise forms.ValidationError("The opening time has passed; choose a later one.")
        return opens_at

    def clean(self):
        cleaned = super().clean()
        template = cleaned.get("template")
        if template is not None and not self.instance.pk:
            # Set before the model's own validation (its constraints read them).
            self.instance.kind = CAMPAIGN_KIND.get(template.kind, Campaign.Kind.END_OF_TERM)
            self.instance.period_key = f"manual-{uuid.uuid4().hex[:16]}"
            self.instance.named_follow_up = (
                template.kind == SurveyTemplate.Kind.CHECK_IN and template.named_follow_up
            )
        opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens_at and closes_at:
            if closes_at <= opens_at:
                self.add_error("closes_at", "The campaign must close after it opens.")
            elif closes_at - opens_at > datetime.timedelta(days=90):
                self.add_error("closes_at", "A campaign stays open at most 90 days.")
            else:
                open_days = max(1, (closes_at - opens_at).days)
                try:
                    cleaned["reminder_days"] = parse_reminder_days(
                        self.data.get(self.add_prefix("reminder_days"), ""), open_days=open_days
                    )
                except forms.ValidationError as error:
                    self.add_error("reminder_days", error)
        return cleaned

    def clean_reminder_days(self):
        return parse_reminder_days(self.cleaned_data.get("reminder_days") or "", open_days=None)
