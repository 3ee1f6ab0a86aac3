"""CSV parsing and validation of people and assessment roles (roster/imports.py): every bad
row and field is named (R12), duplicates are caught, only UTF-8 text is read."""

from __future__ import annotations

import datetime

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import ImportBatch, ParticipantProfile, Role
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import AssessmentRole, Program
from roster import imports
from roster.imports import ImportFileError
from roster.services import import_batch_create, import_batches_expire
from tests.factories import ProgramFactory, UserFactory

PEOPLE_HEADER = "email,full_name,role,level,capacity,timezone,status,status_effective_on"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def where(errors) -> set[tuple[int, str]]:
    return {(error.row, error.field) for error in errors}


@pytest.fixture
def mentoring_program():
    # Not saved: parsing needs only the program's kind.
    return ProgramFactory.build(name="MS1 faculty mentoring", kind=Program.Kind.MENTORING)


# --- Reading the file -------------------------------------------------------------------------


def test_reads_utf8_with_and_without_byte_order_mark(mentoring_program):
    for encoding in ("utf-8", "utf-8-sig"):
        parsed = imports.parse_people(
            csv_bytes(
                "email,full_name,role", "jose@school.test,José Núñez,learner", encoding=encoding
            ),
            program=mentoring_program,
        )
        assert parsed.errors == []
        assert parsed.columns == ["email", "full_name", "role"]
        assert parsed.rows == [
            {"row": 2, "email": "jose@school.test", "full_name": "José Núñez", "role": "learner"}
        ]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n", "empty"),
        (csv_bytes("email,full_name,role"), "no rows"),
        (
            csv_bytes(
                "email,full_name,role", "jose@school.test,José Núñez,learner", encoding="latin-1"
            ),
            "UTF-8",
        ),
        (
            csv_bytes("email,full_name,role", "a@school.test,A,learner", encoding="utf-16"),
            "not a CSV",
        ),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "not a CSV"),
        (bytes(range(256)) * 4, "not a CSV"),
        (b"a" * (imports.MAX_BYTES + 1), "2 MB"),
        (csv_bytes("email;full_name;role", "a@school.test;A;learner"), "semicolons"),
        (csv_bytes("email,full_name,role", 'a@school.test,"Unclosed,learner'), "quotation"),
    ],
    ids=[
        "empty",
        "blank-lines",
        "header-only",
        "latin-1",
        "utf-16",
        "zip",
        "binary",
        "too-big",
        "semicolons",
        "stray-quote",
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_reason(mentoring_program, data, says):
    with pytest.raises(ImportFileError) as refusal:
        imports.parse_people(data, program=mentoring_program)
    assert says in str(refusal.value)


def test_refuses_more_rows_than_the_limit():
    data = csv_bytes("email,full_name,role", *[f"p{n}@school.test,P {n},learner" for n in range(4)])
    assert len(imports.read_csv(data, max_rows=4)[2]) == 4
    with pytest.raises(ImportFileError, match="more than 3 rows"):
        imports.read_csv(data, max_rows=3)


def test_row_numbers_are_the_spreadsheet_rows(mentoring_program):
    # A blank row still counts, and a quoted cell spanning two lines is one row.
    data = csv_bytes(
        "email,full_name,role",
        "a@school.test,Ann,learner",
        "",
        'b@school.test,"Bea\nBrown",learner',
        "not-an-email,Cy,learner",
    )
    parsed = imports.parse_people(data, program=mentoring_program)
    assert [row["row"] for row in parsed.rows] == [2, 4]
    assert where(parsed.errors) == {(5, "email")}


# --- The header -------------------------------------------------------------------------------


def test_header_problems_are_named_in_row_1(mentoring_program):
    data = csv_bytes("Email,Full Name,nickname,email", "a@school.test,Ann,Annie,a@school.test")
    parsed = imports.parse_people(data, program=mentoring_program)
    assert where(parsed.errors) == {(1, "nickname"), (1, "email"), (1, "role")}
    messages = {error.field: error.message for error in parsed.errors}
    assert "Unknown column" in messages["nickname"] and "column C" in messages["nickname"]
    assert "required" in messages["role"]
    # Without a required column every row would fail on it: only the header is reported.
    assert parsed.rows == []


def test_a_value_under_a_nameless_column_is_named(mentoring_program):
    data = csv_bytes(
        "email,full_name,role,", "a@school.test,Ann,learner,", "b@school.test,Bo,learner,x"
    )
    parsed = imports.parse_people(data, program=mentoring_program)
    assert where(parsed.errors) == {(3, "column D")}


def test_formula_guard_quote_from_an_export_is_taken_off(mentoring_program):
    data = csv_bytes("email,full_name,role", "a@school.test,'=Ann,learner")
    assert imports.parse_people(data, program=mentoring_program).rows[0]["full_name"] == "=Ann"


# --- People rows ------------------------------------------------------------------------------


def test_valid_people_rows_are_normalised(mentoring_program):
    data = csv_bytes(
        "Email,full_name,role,level,cohort,specialty_interests,languages,capacity,timezone,"
        "status,status_effective_on",
        " Ann@School.TEST ,  Ann   Lee ,Learner,ms1,Class of 2029,Surgery; surgery ;;Peds,"
        "English;Spanish,,,Enrolled,2026-09-01",
        "kenji@school.test,Kenji Ito,mentor,Faculty,,,Japanese,5,europe/london,active,2020-01-01",
    )
    parsed = imports.parse_people(data, program=mentoring_program)
    assert parsed.errors == []
    ann, kenji = parsed.rows
    assert ann == {
        "row": 2,
        "email": "ann@school.test",
        "full_name": "Ann Lee",
        "role": "learner",
        "level": "MS1",
        "cohort": "Class of 2029",
        "specialty_interests": ["Surgery", "Peds"],
        "languages": ["English", "Spanish"],
        "capacity": None,
        "timezone": "UTC",
        "status": "enrolled",
        "status_effective_on": "2026-09-01",
    }
    assert kenji["capacity"] == 5 and kenji["timezone"] == "Europe/London"
    assert kenji["level"] == "faculty" and kenji["status"] == "active"


def test_every_bad_field_is_named_with_its_row(mentoring_program):
    data = csv_bytes(
        PEOPLE_HEADER,
        "a@school.test,Ann,learner,MS1,,,,",  # fine
        "not-an-email,,,MS9,,Mars/Olympus,,",  # email, full_name, role, level, timezone
        "c@school.test,Cy,dean,,,,,",  # role not importable
        "d@school.test,Di,learner,,3,,,",  # capacity for a learner
        "e@school.test,Ed,mentor,,51,,,",  # capacity out of range
        "f@school.test,Fe,mentor,,two,,,",  # capacity not a number
        "g@school.test,Gus,learner,,,,active,2026-01-01",  # faculty status for a learner
        "h@school.test,Hal,mentor,,,,enrolled,2026-01-01",  # learner status for a guide
        "i@school.test,Ivy,learner,,,,graduated,",  # status without a date
        "j@school.test,Jo,learner,,,,,2026-01-01",  # date without a status
        "k@school.test,Kai,learner,,,,leave,01/09/2026",  # not YYYY-MM-DD
        "l@school.test,Lu,learner,,,,leave,2026-02-30",  # no such day
        f"m@school.test,{'M' * 201},learner,,,,,",  # name too long
        "n@school.test,Ned,,,2,,enrolled,2026-01-01",  # no role: only the role is named
    )
    parsed = imports.parse_people(data, program=mentoring_program)
    assert where(parsed.errors) == {
        (3, "email"),
        (3, "full_name"),
        (3, "role"),
        (3, "level"),
        (3, "timezone"),
        (4, "role"),
        (5, "capacity"),
        (6, "capacity"),
        (7, "capacity"),
        (8, "status"),
        (9, "status"),
        (10, "status_effective_on"),
        (11, "status"),
        (12, "status_effective_on"),
        (13, "status_effective_on"),
        (14, "full_name"),
        (15, "role"),
    }
    assert [row["row"] for row in parsed.rows] == [2]
    by_place = {(e.row, e.field): e for e in parsed.errors}
    assert by_place[(3, "timezone")].value == "Mars/Olympus"
    assert "learner or mentor" in by_place[(4, "role")].message
    assert "0 to 50" in by_place[(6, "capacity")].message
    assert len(by_place[(14, "full_name")].value) <= imports.MAX_VALUE_SHOWN


def test_guide_role_must_match_the_program_kind():
    coaching = ProgramFactory.build(name="Longitudinal coaching", kind=Program.Kind.COACHING)
    data = csv_bytes("email,full_name,role", "a@school.test,Ann,mentor", "b@school.test,Bo,coach")
    parsed = imports.parse_people(data, program=coaching)
    assert where(parsed.errors) == {(2, "role")}
    assert "coaching program: its guides are coaches, not mentors" in parsed.errors[0].message
    assert [row["role"] for row in parsed.rows] == ["coach"]


def test_duplicates_in_the_file_are_named(mentoring_program):
    data = csv_bytes(
        "email,full_name,role,campus",
        "a@school.test,Ann,learner,North",
        "A@school.test,Ann,learner,North",  # same person, same role
        "a@school.test,Ann,mentor,South",  # same person, another role, other campus
        "b@school.test,Bo,learner,",
        "b@school.test,Bo,mentor,",  # same person in two roles, rows agree: fine
    )
    parsed = imports.parse_people(data, program=mentoring_program)
    assert where(parsed.errors) == {(3, "email"), (4, "campus")}
    messages = {error.row: error.message for error in parsed.errors}
    assert "row 2" in messages[3].lower() and "row 2" in messages[4].lower()
    assert [(row["email"], row["role"]) for row in parsed.rows] == [
        ("a@school.test", "learner"),
        ("b@school.test", "learner"),
        ("b@school.test", "mentor"),
    ]


# --- Assessment roles rows --------------------------------------------------------------------


ROLES_HEADER = "assessor_email,learner_email,kind,context,starts_on,ends_on"


def test_valid_assessment_roles_are_normalised_and_status_is_ignored():
    data = csv_bytes(
        ROLES_HEADER + ",status",
        "Priya@school.test,lucia@school.test,Educational supervisor, Ward  block ,2026-01-05,,"
        "active",
        "priya@school.test,lucia@school.test,line manager,Lab,2026-01-05,2026-06-30,pending",
    )
    parsed = imports.parse_assessment_roles(data)
    assert parsed.errors == []
    assert parsed.columns == [
        "assessor_email",
        "learner_email",
        "kind",
        "context",
        "starts_on",
        "ends_on",
    ]
    assert parsed.rows[0] == {
        "row": 2,
        "assessor_email": "priya@school.test",
        "learner_email": "lucia@school.test",
        "kind": "supervisor",
        "context": "Ward block",
        "starts_on": "2026-01-05",
        "ends_on": "",
    }
    assert parsed.rows[1]["kind"] == "line_manager" and parsed.rows[1]["ends_on"] == "2026-06-30"


def test_every_bad_assessment_field_is_named_with_its_row():
    data = csv_bytes(
        ROLES_HEADER,
        "priya@school.test,lucia@school.test,assessor,Clerkship,2026-01-05,",  # fine
        "priya,,examiner,,5 Jan 2026,",  # both emails, kind, context, starts_on
        "priya@school.test,priya@school.test,assessor,Clerkship,2026-01-05,",  # same person
        "priya@school.test,lucia@school.test,assessor,Course,2026-03-01,2026-02-01",  # ends first
        "priya@school.test,lucia@school.test,assessor,clerkship,2026-01-05,",  # duplicate of 2
    )
    parsed = imports.parse_assessment_roles(data)
    assert where(parsed.errors) == {
        (3, "assessor_email"),
        (3, "learner_email"),
        (3, "kind"),
        (3, "context"),
        (3, "starts_on"),
        (4, "learner_email"),
        (5, "ends_on"),
        (6, "assessor_email"),
    }
    assert "row 2" in next(e.message for e in parsed.errors if e.row == 6)


# --- Against the database ---------------------------------------------------------------------


def test_people_plan_says_what_each_row_would_do(program, learner, mentor):
    ParticipantProfile.objects.create(user=mentor, campus="North")
    data = csv_bytes(
        "email,full_name,role,campus,capacity",
        "new@school.test,New Person,learner,,",  # new
        "lucia@school.test,Lucia Garcia,learner,,",  # unchanged (no profile means empty)
        "kenji@school.test,Kenji Ito,mentor,South,3",  # campus changes
        "lucia@school.test,Lucia Garcia,mentor,,2",  # an existing person joins as a mentor
    )
    parsed = imports.parse_people(data, program=program)
    plan = imports.plan_people(program, parsed.rows)
    assert plan.errors == []
    assert [(p.row, p.action) for p in plan.rows] == [
        (2, "new"),
        (3, "unchanged"),
        (4, "update"),
        (5, "join"),
    ]
    assert plan.rows[2].note == "Updates campus"


def test_capacity_below_current_load_is_refused(program, learner, mentor):
    services.relationship_start(program=program, guide=mentor, learner=learner)
    parsed = imports.parse_people(
        csv_bytes("email,full_name,role,capacity", "kenji@school.test,Kenji Ito,mentor,0"),
        program=program,
    )
    plan = imports.plan_people(program, parsed.rows)
    assert where(plan.errors) == {(2, "capacity")}
    assert "R3" in plan.errors[0].message


def test_second_address_of_someone_else_cannot_become_a_new_login(program, outsider):
    EmailAddress.objects.create(user=outsider, email="Olive.Home@mail.test", verified=False)
    parsed = imports.parse_people(
        csv_bytes("email,full_name,role", "olive.home@mail.test,Olive,learner"), program=program
    )
    assert where(imports.plan_people(program, parsed.rows).errors) == {(2, "email")}


def test_assessment_plan_checks_people_and_scope(program, other_program, learner, assessor):
    # R9: an administrator records roles only about learners in their own program.
    elsewhere = UserFactory(email="pat@school.test")
    membership_grant(user=elsewhere, role=Role.LEARNER, program=other_program)
    parsed = imports.parse_assessment_roles(
        csv_bytes(
            ROLES_HEADER,
            "priya@school.test,lucia@school.test,assessor,Clerkship,2026-01-05,",
            "nobody@school.test,lucia@school.test,assessor,Clerkship,2026-01-05,",
            "priya@school.test,pat@school.test,assessor,Clerkship,2026-01-05,",
        )
    )
    plan = imports.plan_assessment_roles(program, parsed.rows)
    assert where(plan.errors) == {(3, "assessor_email"), (4, "learner_email")}
    assert "not a learner in this program" in plan.errors[1].message
    assert plan.rows[0].action == "new"


def test_assessment_plan_predicts_r2_and_knows_recorded_roles(program, learner, mentor, assessor):
    today = timezone.localdate()  # the site's day, which the services default to
    services.relationship_start(program=program, guide=mentor, learner=learner)
    services.assessment_role_add(
        assessor=assessor, learner=learner, kind="assessor", context="Clerkship", starts_on=today
    )
    rows = imports.parse_assessment_roles(
        csv_bytes(
            ROLES_HEADER,
            f"kenji@school.test,lucia@school.test,supervisor,Ward,{today},",
            f"priya@school.test,lucia@school.test,assessor,CLERKSHIP,{today},",
        )
    ).rows
    plan = imports.plan_assessment_roles(program, rows)
    assert plan.errors == []
    assert [p.action for p in plan.rows] == ["queued", "recorded"]
    # The same role with another end date is not silently changed.
    changed = imports.parse_assessment_roles(
        csv_bytes(
            ROLES_HEADER, f"priya@school.test,lucia@school.test,assessor,Clerkship,{today},{today}"
        )
    ).rows
    assert where(imports.plan_assessment_roles(program, changed).errors) == {(2, "ends_on")}
    Program.objects.filter(pk=program.pk).update(assessment_conflict="refuse")
    program.refresh_from_db()
    plan = imports.plan_assessment_roles(program, rows[:1])
    assert where(plan.errors) == {(2, "assessor_email")}
    assert plan.errors[0].message.startswith("R2 Role separation")
    assert AssessmentRole.objects.count() == 1


def test_old_uploads_stop_holding_personal_data(db, program, program_admin):
    def upload(email):
        return import_batch_create(
            program=program,
            kind="people",
            filename="p.csv",
            data=f"email,full_name,role\r\n{email},Some One,learner\r\n".encode(),
            uploaded_by=program_admin,
        )

    stale, fresh, old_commit = upload("a@school.test"), upload("b@school.test"), upload("c@x.test")
    now = timezone.now()
    ImportBatch.objects.filter(pk=stale.pk).update(uploaded_at=now - datetime.timedelta(days=8))
    ImportBatch.objects.filter(pk=old_commit.pk).update(
        status="committed", committed_at=now - datetime.timedelta(days=31)
    )
    assert import_batches_expire(now=now) == (1, 1)
    stale.refresh_from_db()
    fresh.refresh_from_db()
    old_commit.refresh_from_db()
    assert (stale.status, stale.rows) == ("discarded", [])
    assert fresh.status == "pending" and fresh.rows
    assert old_commit.rows == [] and old_commit.status == "committed"
    assert import_batches_expire(now=now) == (0, 0)
