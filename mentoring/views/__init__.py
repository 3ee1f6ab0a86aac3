"""Views of the core domain, split by audience: core (home, health), console_* (program
administrators), participant (learners and guides)."""

import uuid


def is_uuid(value) -> bool:
    """True when `value` is text naming a UUID (a `code` in a form or query string)."""
    try:
        uuid.UUID(str(value).strip())
    except ValueError:
        return False
    return True
