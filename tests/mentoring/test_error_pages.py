"""Error pages are the site's own, and say no more than they should (R8)."""

from __future__ import annotations

import uuid

from mentoring import services


def test_not_found_page_uses_the_site_layout(client, learner):
    client.force_login(learner)
    response = client.get(f"/relationships/{uuid.uuid4()}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "not yours to see" in html and 'href="#main"' in html


def test_forbidden_page_uses_the_site_layout(client, program, learner, mentor):
    pair = services.relationship_start(program=program, guide=mentor, learner=learner)
    client.force_login(mentor)
    response = client.get(f"/relationships/{pair.code}/rematch/")
    assert response.status_code == 403
    assert "not yours to take" in response.content.decode()
