"""Hostile text for every form a person types into (R12): the values, a parser that finds
the forms of a rendered page, and a client helper that posts raw bytes.

Lone surrogates cannot be put in a str the test client encodes, so bodies and query strings
are built here as bytes, percent-encoded, with the surrogate as its raw UTF-8-style bytes
(`%ED%A0%80`, the encoding of U+D800 that a careless client sends).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote

NUL = "Met on the ward.\x00 Follow up next week."
SURROGATE_MARK = "\ue000SURROGATE\ue000"  # replaced by %ED%A0%80 when encoded
SURROGATE = f"Before {SURROGATE_MARK} after"
HUGE = ("Long text, typed or pasted. " * 4000)[:100_000]
RTL = "Dr \u202eevil\u202c Smith \u2066ok\u2069"

HOSTILE = {"nul": NUL, "surrogate": SURROGATE, "huge": HUGE, "rtl": RTL}

# The inputs a person types text into.
TEXT_TYPES = {"text", "search", "email", "url", "tel", None, ""}


def encode_value(value: str) -> str:
    return quote(value, safe="").replace(quote(SURROGATE_MARK, safe=""), "%ED%A0%80")


def encode_pairs(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{encode_value(k)}={encode_value(v)}" for k, v in pairs)


@dataclass
class Field:
    name: str
    kind: str  # "text", "textarea", "select", "hidden", "checkbox", "radio", "other"
    value: str
    checked: bool = False


@dataclass
class Form:
    method: str
    action: str
    fields: list[Field] = field(default_factory=list)

    def text_fields(self) -> list[str]:
        seen = []
        for f in self.fields:
            if f.kind in ("text", "textarea") and f.name not in seen:
                seen.append(f.name)
        return seen

    def baseline(self) -> list[tuple[str, str]]:
        """The values a person who only typed plain text would send."""
        pairs = []
        radios_done = set()
        for f in self.fields:
            if f.kind in ("checkbox",) and not f.checked:
                continue
            if f.kind == "radio":
                if f.name in radios_done or not f.checked:
                    continue
                radios_done.add(f.name)
            value = f.value
            if f.kind in ("text", "textarea") and not value:
                value = "plain@example.org" if "mail" in f.name else "Plain words"
            pairs.append((f.name, value))
        return pairs


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: Field | None = None
        self._select: Field | None = None
        self._select_first: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = Form(method=(a.get("method") or "get").lower(), action=a.get("action"))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                if kind == "submit" and name:
                    form.fields.append(Field(name, "submit", a.get("value") or ""))
                return
            mapped = (
                "text"
                if kind in TEXT_TYPES
                else kind
                if kind in ("hidden", "checkbox", "radio")
                else "other"
            )
            form.fields.append(
                Field(
                    name,
                    mapped,
                    a.get("value") or ("on" if kind == "checkbox" else ""),
                    checked="checked" in a,
                )
            )
        elif tag == "button" and name:
            form.fields.append(Field(name, "submit", a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = Field(name, "textarea", "")
            form.fields.append(self._textarea)
        elif tag == "select" and name:
            self._select = Field(name, "select", "")
            self._select_first = None
            form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None and value:
                self._select_first = value
                self._select.value = value
            if "selected" in a:
                self._select.value = value

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    # A form's submit buttons: keep the first only (one action per submission).
    for form in parser.forms:
        submits = [f for f in form.fields if f.kind == "submit"]
        for extra in submits[1:]:
            form.fields.remove(extra)
    return parser.forms


def send(client, method: str, url: str, pairs: list[tuple[str, str]]):
    encoded = encode_pairs(pairs)
    if method == "get":
        sep = "&" if "?" in url else "?"
        return client.get(f"{url}{sep}{encoded}" if encoded else url)
    return client.generic(
        "POST", url, encoded.encode("ascii"), content_type="application/x-www-form-urlencoded"
    )
