"""Signals mentoring sends for other apps to follow, so that mentoring imports none of them."""

from django.dispatch import Signal

term_dates_changed = Signal()
"""Sent by services.term_save when a saved term's dates changed, with `term`, `old_starts_on`
and `old_ends_on`. Each receiver returns how many of its things moved with the term (the
survey campaigns scheduled from it), which the administrator is told."""
