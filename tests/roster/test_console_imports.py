"""The console's CSV import and export (R12: a bad row imports nothing and every bad row and
field is named; R8/R9: only the program's administrators see uploads; R2 on imported
assessment roles), invitations for imported people, bounded queries on the preview."""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import ImportBatch, Membership, ParticipantProfile, Role, StatusChange, User
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import AssessmentRole, Conflict, Program
from roster import imports
from roster import views as console_imports
from roster.services import import_batch_create
from tests.factories import UserFactory

TODAY = timezone.localdate()

PEOPLE = (
    b"email,full_name,role,level,cohort,languages,capacity,timezone,status,status_effective_on\r\n"
    b"ana@school.test,Ana Silva,learner,MS1,Class of 2029,English;Portuguese,,,enrolled,"
    b"2026-09-01\r\n"
    b"ben@school.test,Ben Okoro,learner,MS1,Class of 2029,,,America/Chicago,,\r\n"
    b"carla@school.test,Carla Reyes,mentor,faculty,,Spanish,4,,active,2020-07-01\r\n"
)


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs=kwargs)


def upload(client, program, data: bytes, *, kind="people", name="people.csv"):
    return client.post(
        url(f"{kind}-import", code=program.code),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def uploaded_batch(response) -> ImportBatch:
    assert response.status_code == 302, response.content.decode()[:2000]
    code = response["Location"].rstrip("/").split("/")[-1]
    return ImportBatch.objects.get(code=code)


def commit(client, batch, **data):
    return client.post(
        url("import-commit", code=batch.program.code, batch=batch.code),
        {"action": "commit", **data},
    )


def preview(client, batch):
    response = client.get(url("import-preview", code=batch.program.code, batch=batch.code))
    assert response.status_code == 200
    return response.content.decode()


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def snapshot() -> dict:
    """Everything an import writes, to show that a second import wrote nothing."""
    return {
        "users": sorted(User.objects.values_list("email", "full_name")),
        "addresses": EmailAddress.objects.count(),
        "memberships": sorted(
            Membership.objects.values_list("user__email", "program__name", "role", "capacity")
        ),
        "profiles": sorted(
            ParticipantProfile.objects.values_list(
                "user__email", "level", "cohort", "languages", "timezone", "updated_at"
            )
        ),
        "statuses": sorted(
            StatusChange.objects.values_list("user__email", "population", "status", "effective_on")
        ),
        "roles": sorted(
            AssessmentRole.objects.values_list(
                "assessor__email", "learner__email", "kind", "context", "starts_on", "status"
            )
        ),
        "conflicts": Conflict.objects.count(),
    }


@pytest.fixture
def batch(program, program_admin):
    return import_batch_create(
        program=program,
        kind=ImportBatch.Kind.PEOPLE,
        filename="people.csv",
        data=PEOPLE,
        uploaded_by=program_admin,
    )


# --- The ladder (R8, R9) ----------------------------------------------------------------------


def test_ladder_anonymous_outsiders_other_admin_then_program_admin(client, cast, program, batch):
    pages = [
        url("people-import", code=program.code),
        url("assessments-import", code=program.code),
        url("people-export", code=program.code),
        url("assessments-export", code=program.code),
        url("import-preview", code=program.code, batch=batch.code),
    ]
    for page in pages:
        client.logout()
        response = client.get(page)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        for name in (
            "outsider",
            "learner",
            "mentor",
            "assessor",
            "dean",
            "other_admin",
            "superuser",
        ):
            client.force_login(cast[name])
            assert client.get(page).status_code == 404, (page, name)
        client.force_login(cast["program_admin"])
        assert client.get(page).status_code == 200, page


def test_nobody_else_can_commit_or_discard_a_batch(client, cast, batch):
    for name in ("outsider", "learner", "mentor", "dean", "other_admin", "superuser"):
        client.force_login(cast[name])
        assert commit(client, batch).status_code == 404, name
        assert commit(client, batch, action="discard").status_code == 404, name
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING
    assert not User.objects.filter(email="ana@school.test").exists()


def test_a_batch_is_found_only_through_its_own_program(
    client, program, other_program, program_admin, other_admin
):
    theirs = import_batch_create(
        program=other_program,
        kind=ImportBatch.Kind.PEOPLE,
        filename="theirs.csv",
        data=PEOPLE,
        uploaded_by=other_admin,
    )
    client.force_login(program_admin)
    # Through my program, their batch does not exist; through theirs, neither does the program.
    assert (
        client.get(url("import-preview", code=program.code, batch=theirs.code)).status_code == 404
    )
    assert (
        client.get(url("import-preview", code=other_program.code, batch=theirs.code)).status_code
        == 404
    )
    response = client.post(url("import-commit", code=program.code, batch=theirs.code))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == ImportBatch.Status.PENDING


def test_views_answer_only_their_methods(client, program_admin, program, batch):
    client.force_login(program_admin)
    assert client.put(url("people-import", code=program.code)).status_code == 405
    assert client.post(url("people-export", code=program.code)).status_code == 405
    assert client.get(url("import-commit", code=program.code, batch=batch.code)).status_code == 405
    assert (
        client.post(url("import-preview", code=program.code, batch=batch.code)).status_code == 405
    )


# --- Upload, preview, commit: all or nothing (R12) --------------------------------------------


def test_upload_with_bad_rows_imports_nothing_and_shows_every_error(client, program_admin, program):
    client.force_login(program_admin)
    before = snapshot()
    data = (
        b"email,full_name,role,capacity,timezone\r\n"
        b"ana@school.test,Ana Silva,learner,,\r\n"
        b"not-an-email,Ben Okoro,learner,,\r\n"
        b"carla@school.test,,coach,4,Mars/Olympus\r\n"
        b"ana@school.test,Ana Silva,learner,,\r\n"
    )
    batch = uploaded_batch(upload(client, program, data))
    assert batch.status == ImportBatch.Status.PENDING
    assert {(e["row"], e["field"]) for e in batch.errors} == {
        (3, "email"),
        (4, "full_name"),
        (4, "role"),
        (4, "timezone"),
        (5, "email"),
    }
    html = preview(client, batch)
    assert "5 problems in 3 rows: nothing will be imported" in html
    for error in batch.errors:
        assert f'<th scope="row" class="num">{error["row"]}</th>' in html
        assert f"<code>{error['field']}</code>" in html
    assert "Mars/Olympus" in html and "its guides are mentors, not coaches" in html
    assert 'value="commit"' not in html
    # Posting the commit anyway changes nothing.
    response = commit(client, batch)
    assert response.status_code == 302
    assert snapshot() == before
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING


def test_fixed_file_previews_then_commits(client, program_admin, program):
    client.force_login(program_admin)
    batch = uploaded_batch(upload(client, program, PEOPLE))
    assert batch.errors == []
    html = preview(client, batch)
    assert html.count("New person") == 3
    assert "Import 3 rows" in html and "English; Portuguese" in html
    response = commit(client, batch)
    assert response.status_code == 302
    assert flashed(response) == [
        "Imported 3 rows: 3 new people, 0 joined the program, 0 updated, 0 unchanged."
    ]
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.COMMITTED and batch.committed_by == program_admin
    ana = User.objects.get(email="ana@school.test")
    assert not ana.has_usable_password()
    assert EmailAddress.objects.get(user=ana).verified
    assert ana.profile.languages == ["English", "Portuguese"] and ana.profile.level == "MS1"
    assert ana.status_changes.get().status == "enrolled"
    assert User.objects.get(email="ben@school.test").profile.timezone == "America/Chicago"
    carla = Membership.objects.get(user__email="carla@school.test", program=program)
    assert (carla.role, carla.capacity) == (Role.MENTOR, 4)
    assert StatusChange.objects.get(user=carla.user).population == "faculty"
    assert mail.outbox == []
    assert "Imported 3 rows" in preview(client, batch)


def test_reimporting_the_same_file_changes_nothing(client, program_admin, program):
    client.force_login(program_admin)
    commit(client, uploaded_batch(upload(client, program, PEOPLE)))
    before = snapshot()
    again = uploaded_batch(upload(client, program, PEOPLE))
    assert preview(client, again).count("No change") == 3
    response = commit(client, again)
    assert flashed(response) == [
        "Imported 3 rows: 0 new people, 0 joined the program, 0 updated, 3 unchanged."
    ]
    assert snapshot() == before


def test_commit_runs_once(client, program_admin, program, batch):
    client.force_login(program_admin)
    commit(client, batch)
    before = snapshot()
    response = commit(client, batch)
    assert flashed(response)[-1] == "This upload was already imported."
    assert snapshot() == before


def test_discard_keeps_no_rows(client, program_admin, program, batch):
    client.force_login(program_admin)
    response = commit(client, batch, action="discard")
    assert response["Location"] == url("people-import", code=program.code)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DISCARDED
    assert batch.rows == [] and batch.errors == []
    assert not User.objects.filter(email="ana@school.test").exists()
    assert "Nothing was imported" in preview(client, batch)


def test_a_large_batch_is_committed_by_a_worker(
    client,
    program_admin,
    program,
    batch,
    monkeypatch,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    monkeypatch.setattr(console_imports, "SYNC_COMMIT_ROWS", 2)
    client.force_login(program_admin)
    with django_capture_on_commit_callbacks() as queued:
        response = commit(client, batch, invite="on")
    assert flashed(response)[0].startswith("Importing 3 rows.")
    assert len(queued) == 1
    assert not User.objects.filter(email="ana@school.test").exists()
    html = preview(client, batch)
    assert '<meta http-equiv="refresh" content="5">' in html
    assert "Importing…" in html and 'value="commit"' not in html
    # Asking again while it runs queues nothing more.
    with django_capture_on_commit_callbacks() as again:
        commit(client, batch)
    assert again == []
    # The worker runs the same all-or-nothing commit, and the invitations follow it.
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.COMMITTED and batch.committed_by == program_admin
    assert User.objects.filter(email__endswith="@school.test", last_login=None).count() >= 3
    assert len(mail.outbox) == 3
    html = preview(client, batch)
    assert "Imported 3 rows" in html and "refresh" not in html


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (None, "Choose the CSV file to upload."),
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV text file."),
        ("email,full_name,role\r\nana@school.test,Ána,learner\r\n".encode("latin-1"), "UTF-8"),
        (b"email,full_name,role\r\n", "The file has a header row but no rows below it."),
        (b"x" * (imports.MAX_BYTES + 1), "the most one import takes is 2 MB"),
    ],
    ids=["no-file", "empty", "binary", "latin-1", "header-only", "too-big"],
)
def test_a_bad_file_is_refused_on_the_form_never_a_500(client, program_admin, program, data, says):
    client.force_login(program_admin)
    if data is None:
        response = client.post(url("people-import", code=program.code), {})
    else:
        response = upload(client, program, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert says in html
    assert 'class="errorlist" id="id_file_error"' in html
    assert 'aria-describedby="id_file_helptext id_file_error"' in html
    assert ImportBatch.objects.count() == 0


def test_upload_page_documents_the_columns(client, program_admin, program):
    client.force_login(program_admin)
    html = client.get(url("people-import", code=program.code)).content.decode()
    for column in imports.PEOPLE_COLUMNS:
        assert f"<code>{column}</code>" in html
    assert '<label for="id_file">CSV file</label>' in html
    assert "learner or mentor." in html


# --- Assessment roles: R2 and R9 --------------------------------------------------------------


def roles_csv(*lines: str) -> bytes:
    return (
        "assessor_email,learner_email,kind,context,starts_on,ends_on\r\n"
        + "".join(f"{line}\r\n" for line in lines)
    ).encode()


def test_assessment_role_colliding_with_a_relationship_goes_to_the_queue(
    client, program_admin, program, learner, mentor, assessor
):
    services.relationship_start(program=program, guide=mentor, learner=learner)
    client.force_login(program_admin)
    batch = uploaded_batch(
        upload(
            client,
            program,
            roles_csv(
                f"kenji@school.test,lucia@school.test,supervisor,Ward block,{TODAY},",
                f"priya@school.test,lucia@school.test,assessor,Surgery clerkship,{TODAY},",
            ),
            kind="assessments",
        )
    )
    assert batch.errors == []
    assert "Goes to the conflict queue" in preview(client, batch)
    response = commit(client, batch)
    assert flashed(response) == [
        "Imported 2 assessment roles. 1 conflict with a current relationship went to the "
        "conflict queue."
    ]
    queued = AssessmentRole.objects.get(assessor=mentor)
    assert queued.status == AssessmentRole.Status.PENDING and queued.created_by == program_admin
    assert Conflict.objects.get().assessment_role == queued
    assert AssessmentRole.objects.get(assessor=assessor).status == AssessmentRole.Status.ACTIVE


def test_assessment_role_colliding_in_a_refusing_program_imports_nothing(
    client, program_admin, program, learner, mentor, assessor
):
    Program.objects.filter(pk=program.pk).update(assessment_conflict="refuse")
    client.force_login(program_admin)
    data = roles_csv(
        f"priya@school.test,lucia@school.test,assessor,Surgery clerkship,{TODAY},",
        f"kenji@school.test,lucia@school.test,supervisor,Ward block,{TODAY},",
    )
    # Uploaded before the relationship starts: no problem yet.
    batch = uploaded_batch(upload(client, program, data, kind="assessments"))
    assert batch.errors == []
    services.relationship_start(program=program, guide=mentor, learner=learner)
    before = snapshot()
    # At commit time the service refuses row 3 (R2), so row 2 is not written either.
    response = commit(client, batch)
    assert flashed(response) == [
        "Nothing was imported: 1 row could not be. Each problem is listed below."
    ]
    assert snapshot() == before
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING
    assert [(e["row"], e["field"]) for e in batch.errors] == [(3, "assessor_email")]
    assert batch.errors[0]["message"].startswith("R2 Role separation")
    html = preview(client, batch)
    assert "R2 Role separation" in html and 'value="commit"' not in html
    # A new upload of the same file is refused at once, in the preview.
    again = uploaded_batch(upload(client, program, data, kind="assessments"))
    assert [(e["row"], e["field"]) for e in again.errors] == [(3, "assessor_email")]


def test_assessment_roles_only_about_this_programs_learners(
    client, program_admin, program, other_program, assessor
):
    pat = UserFactory(email="pat@school.test")
    membership_grant(user=pat, role=Role.LEARNER, program=other_program)
    client.force_login(program_admin)
    batch = uploaded_batch(
        upload(
            client,
            program,
            roles_csv(f"priya@school.test,pat@school.test,assessor,Clerkship,{TODAY},"),
            kind="assessments",
        )
    )
    assert [(e["row"], e["field"]) for e in batch.errors] == [(2, "learner_email")]
    commit(client, batch)
    assert not AssessmentRole.objects.exists()


# --- Exports round-trip -----------------------------------------------------------------------


def test_people_export_round_trips(client, program_admin, program, learner, mentor):
    ParticipantProfile.objects.create(
        user=learner, level="MS2", campus="North", languages=["Spanish", "English"]
    )
    StatusChange.objects.create(
        user=learner,
        population="learner",
        status="enrolled",
        effective_on=datetime.date(2025, 9, 1),
    )
    StatusChange.objects.create(
        user=learner, population="learner", status="leave", effective_on=datetime.date(2026, 1, 5)
    )
    Membership.objects.filter(user=mentor, program=program).update(capacity=2)
    sneaky = UserFactory(email="sneaky@school.test", full_name='=HYPERLINK("http://x")')
    membership_grant(user=sneaky, role=Role.LEARNER, program=program)
    client.force_login(program_admin)
    response = client.get(url("people-export", code=program.code))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="ms1-faculty-mentoring-people-'
    )
    assert "no-store" in response["Cache-Control"]
    exported = b"".join(response.streaming_content)
    text = exported.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(imports.PEOPLE_COLUMNS)
    assert (
        "lucia@school.test,Lucia Garcia,learner,MS2,,,North,,,Spanish; English,,UTC,leave,"
        "2026-01-05" in text
    )
    assert "kenji@school.test,Kenji Ito,mentor,,,,,,,,2,UTC,," in text
    assert "rosa@school.test" not in text  # administrators are not members to import
    assert '"\'=HYPERLINK(""http://x"")"' in text  # CSV injection defused

    before = snapshot()
    batch = uploaded_batch(upload(client, program, exported, name="export.csv"))
    assert batch.errors == []
    assert preview(client, batch).count("No change") == 3
    commit(client, batch)
    assert snapshot() == before
    assert User.objects.get(email="sneaky@school.test").full_name == '=HYPERLINK("http://x")'


def test_assessment_export_round_trips(client, program_admin, program, learner, mentor, assessor):
    services.relationship_start(program=program, guide=mentor, learner=learner)
    services.assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind="assessor",
        context="Surgery clerkship",
        starts_on=TODAY,
        ends_on=TODAY + datetime.timedelta(days=30),
    )
    services.assessment_role_add(
        assessor=mentor, learner=learner, kind="supervisor", context="Ward", starts_on=TODAY
    )
    client.force_login(program_admin)
    response = client.get(url("assessments-export", code=program.code))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == ",".join(imports.ASSESSMENT_COLUMNS)
    assert f"kenji@school.test,lucia@school.test,supervisor,Ward,{TODAY},,pending" in lines
    assert len(lines) == 3
    before = snapshot()
    batch = uploaded_batch(upload(client, program, text.encode(), kind="assessments"))
    assert batch.errors == []
    assert preview(client, batch).count("Already recorded: no change") == 2
    response = commit(client, batch)
    assert flashed(response) == [
        "Imported 0 assessment roles. 2 already recorded, left as they were."
    ]
    assert snapshot() == before


# --- Invitations ------------------------------------------------------------------------------


def test_invitations_are_emailed_with_a_working_set_password_link(
    client, program_admin, program, learner, eager_tasks, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=learner.pk).update(last_login=timezone.now())  # Lucia has signed in
    data = PEOPLE + b"lucia@school.test,Lucia Garcia,learner,,,,,,,\r\n"
    client.force_login(program_admin)
    batch = uploaded_batch(upload(client, program, data))
    with django_capture_on_commit_callbacks(execute=True):
        response = commit(client, batch, invite="on")
    assert "3 invitations will be emailed." in flashed(response)[0]
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ana@school.test",
        "ben@school.test",
        "carla@school.test",
    ]
    message = next(m for m in mail.outbox if m.to == ["ana@school.test"])
    assert message.subject == "[Mentoring] You are invited to MS1 faculty mentoring"
    assert "Rosa Delgado has added you to MS1 faculty mentoring" in message.body
    html_body, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", message.body).group(0)
    assert link.startswith("http://127.0.0.1:8000/") and link in html_body
    ana = User.objects.get(email="ana@school.test")
    assert ana.invited_at is not None

    # Ana follows the link, chooses a password, and can sign in with it.
    client.logout()
    response = client.get(urlparse(link).path)
    assert response.status_code == 302 and response["Location"].endswith("-set-password/")
    assert client.get(response["Location"]).status_code == 200
    password = "a sturdy new passphrase 93"
    response = client.post(response["Location"], {"password1": password, "password2": password})
    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.check_password(password)
    assert client.login(email="ana@school.test", password=password)
    # The link works once.
    client.logout()
    response = client.get(urlparse(link).path, follow=True)
    assert b"has expired or has already been used" in response.content


def test_no_invitations_without_the_checkbox(
    client, program_admin, program, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(program_admin)
    batch = uploaded_batch(upload(client, program, PEOPLE))
    with django_capture_on_commit_callbacks(execute=True):
        commit(client, batch)
    assert mail.outbox == []


# --- Bounded queries --------------------------------------------------------------------------


def test_preview_queries_are_bounded(client, program_admin, program, django_assert_max_num_queries):
    # Some people already exist, so every lookup of the plan has rows to find.
    for n in range(0, 300, 3):
        user = UserFactory(email=f"p{n}@school.test", full_name=f"Person {n}")
        membership_grant(user=user, role=Role.LEARNER, program=program)
    lines = [f"p{n}@school.test,Person {n},learner,MS1,,enrolled,2026-09-01" for n in range(300)]
    data = (
        "email,full_name,role,level,languages,status,status_effective_on\r\n" + "\r\n".join(lines)
    ).encode()
    client.force_login(program_admin)
    batch = uploaded_batch(upload(client, program, data))
    assert batch.errors == [] and len(batch.rows) == 300
    with django_assert_max_num_queries(15):  # 13 measured; constant in the rows
        response = client.get(url("import-preview", code=program.code, batch=batch.code))
    assert response.content.decode().count("New person") == 200


def test_operators_django_admin_never_shows_the_rows(client, superuser, batch):
    client.force_login(superuser)
    pages = [
        reverse("admin:accounts_importbatch_changelist"),
        reverse("admin:accounts_importbatch_change", args=[batch.pk]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assert "people.csv" in html or "MS1 faculty mentoring" in html
        assert "ana@school.test" not in html and "Ana Silva" not in html


# --- R9: an import changes nothing outside its program ------------------------------------------


def test_an_import_never_changes_a_person_outside_its_program(
    client, other_admin, other_program, program, learner, dean, superuser
):
    """Tom administers PGY only. His file names the dean, the operator and Lucia (a learner in
    MS1) with other names, a time zone and a status: the dean and the operator cannot be
    imported; Lucia is added to PGY and nothing else about her changes."""
    ParticipantProfile.objects.create(user=learner, timezone="Europe/Madrid", level="MS1")
    before = (learner.full_name, learner.profile.timezone, learner.profile.level)
    header = b"email,full_name,role,level,timezone,status,status_effective_on\r\n"
    rows = {
        person: f"{person.email},Renamed Person,learner,PGY1,UTC,withdrawn,2026-09-01\r\n".encode()
        for person in (dean, superuser, learner)
    }
    client.force_login(other_admin)
    refused = uploaded_batch(upload(client, other_program, header + b"".join(rows.values())))
    assert {(e["row"], e["field"]) for e in refused.errors} == {(2, "email"), (3, "email")}
    assert "cannot be imported as a participant" in preview(client, refused)
    commit(client, refused)
    refused.refresh_from_db()
    assert refused.status != ImportBatch.Status.COMMITTED

    batch = uploaded_batch(upload(client, other_program, header + rows[learner]))
    assert batch.errors == []
    assert (
        "Exists: will be added to this program as learner; name, profile and status unchanged"
        in preview(client, batch)
    )
    assert commit(client, batch).status_code == 302
    learner.refresh_from_db()
    learner.profile.refresh_from_db()
    assert (learner.full_name, learner.profile.timezone, learner.profile.level) == before
    assert not StatusChange.objects.filter(user=learner).exists()
    assert Membership.objects.filter(user=learner, program=other_program, role="learner").exists()
    dean.refresh_from_db()
    superuser.refresh_from_db()
    assert "Renamed Person" not in (dean.full_name, superuser.full_name)
    assert not Membership.objects.filter(program=other_program, user__in=[dean, superuser])
