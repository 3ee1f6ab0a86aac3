"""The operator's Django admin shows metadata and never a rematch reason (R9: operators are
not a program role)."""

from __future__ import annotations

from mentoring import services


def test_operator_sees_relationship_metadata_but_not_the_rematch_reason(
    client, superuser, program, learner, mentor
):
    pair = services.relationship_start(program=program, guide=mentor, learner=learner)
    services.rematch_request_create(relationship=pair, reason="My mentor belittles me.")
    client.force_login(superuser)
    for path in (
        "/admin/mentoring/relationship/",
        f"/admin/mentoring/relationship/{pair.pk}/change/",
        "/admin/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "belittles" not in response.content.decode(), path
    assert client.get("/admin/mentoring/rematchrequest/").status_code == 404


def test_operator_cannot_add_a_relationship_around_the_rules(client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/mentoring/relationship/add/").status_code == 403
