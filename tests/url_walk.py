"""Every URL pattern of the project, with sample arguments, for the deny-by-default walks."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLE_BY_CONVERTER = {
    "int": "1",
    "str": "sample",
    "slug": "sample",
    "uuid": str(uuid.UUID(int=1)),
    "path": "sample/path",
}


@dataclass(frozen=True)
class UrlCase:
    name: str | None
    url: str


def _fill(route: str) -> str | None:
    """Turn a route or regex into a concrete path, or None when it cannot be filled."""

    # path() converters: <int:pk>, <slug>, ...
    def converter(match: re.Match) -> str:
        kind = match.group(1) or "str"
        return SAMPLE_BY_CONVERTER.get(kind, "sample")

    text = re.sub(r"<(?:(\w+):)?\w+>", converter, route)
    # re_path() groups: (?P<key>[-:\w]+) and friends
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "sample", text)
    text = text.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    if any(ch in text for ch in "()[]?*+|{}"):
        return None
    return text


def _walk(patterns, prefix: str, namespace: str | None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            route = _fill(str(entry.pattern))
            if route is None:
                continue
            ns = entry.namespace
            full_ns = ":".join(filter(None, [namespace, ns])) or None
            yield from _walk(entry.url_patterns, prefix + route, full_ns)
        elif isinstance(entry, URLPattern):
            route = _fill(str(entry.pattern))
            if route is None:
                continue
            name = entry.name
            if name and namespace:
                name = f"{namespace}:{name}"
            yield UrlCase(name=name, url="/" + prefix + route)


def all_url_cases() -> list[UrlCase]:
    """Every routable pattern (static files excluded), each once."""
    seen: dict[str, UrlCase] = {}
    for case in _walk(get_resolver().url_patterns, "", None):
        seen.setdefault(case.url, case)
    return list(seen.values())
