"""The operator's Django admin shows where a self-match request stands, never what the
learner wrote or the guide replied."""

from __future__ import annotations

import datetime

from django.utils import timezone

from matching.models import MatchRequest


def test_operator_sees_request_state_but_not_its_words(client, superuser, program, learner, mentor):
    request = MatchRequest.objects.create(
        program=program,
        learner=learner,
        guide=mentor,
        message="I am struggling with my rotation and need someone I trust.",
        reply="Sorry, not this term.",
        state=MatchRequest.State.DECLINED,
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    client.force_login(superuser)
    for path in (
        "/admin/matching/matchrequest/",
        f"/admin/matching/matchrequest/{request.pk}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        assert "Declined" in page
        assert "struggling" not in page and "not this term" not in page, path
    assert client.get("/admin/matching/matchrequest/add/").status_code == 403
    assert client.post(f"/admin/matching/matchrequest/{request.pk}/delete/").status_code == 403
    assert MatchRequest.objects.filter(pk=request.pk).exists()
