"""The registries of a person's data rights (accounts/privacy_registry.py): every app registers
its sections of the download and its erasure steps; a clash is refused at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.privacy_registry import ERASURE_STEPS, SECTIONS, erasure_step, section


def test_a_section_that_clashes_with_a_registered_one_is_refused():
    before = list(SECTIONS)
    for name, order in (("meetings", 5), ("a_new_section", SECTIONS[0].order)):
        with pytest.raises(ImproperlyConfigured):
            section(name, order=order, title="T", description="D", columns="a")(lambda ctx: [])
    assert list(SECTIONS) == before


def test_an_erasure_step_that_clashes_with_a_registered_one_is_refused():
    before = list(ERASURE_STEPS)
    with pytest.raises(ImproperlyConfigured):
        erasure_step(order=ERASURE_STEPS[0].order)(lambda erasure: {})
    assert list(ERASURE_STEPS) == before
