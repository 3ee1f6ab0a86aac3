"""An administrator's afternoon in a real browser: import people (a bad row first), pair a
learner with a mentor, and be refused, with the reason, when pairing her with her assessor."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership, Role, User
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import Relationship
from tests.conftest import current_totp, totp_secret_for
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser

HEADER = "email,full_name,role,level,campus,specialty_interests,languages,capacity\n"
GOOD_ROWS = (
    "amara.obi@school.test,Amara Obi,learner,MS1,Main,cardiology;surgery,English;Igbo,\n"
    "dr.hale@school.test,Dr. Sam Hale,mentor,faculty,Main,cardiology,English,2\n"
)
BAD_ROW = "priya.k@school.test,Priya K,learner,MS9,Main,,English,\n"  # no such level
FIXED_ROW = "priya.k@school.test,Priya K,learner,MS2,Main,,English,\n"


def sign_in_with_code(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(current_totp(totp_secret_for(user.email)))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Welcome"))


def upload(page, program, tmp_path, name: str, text: str) -> None:
    page.goto(f"/console/programs/{program.code}/people/import/")
    csv_file = tmp_path / name
    csv_file.write_text(text)
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and preview").click()


def test_admin_imports_pairs_and_is_refused_pairing_with_an_assessor(
    page, program, program_admin, learner, assessor, tmp_path
):
    sign_in_with_code(page, program_admin)
    people_before = User.objects.count()

    # 1. A file with one bad row: every problem named, nothing imported.
    upload(page, program, tmp_path, "people.csv", HEADER + GOOD_ROWS + BAD_ROW)
    problems = page.get_by_role("table", name=re.compile("Every problem"))
    expect(problems).to_contain_text("level")
    expect(problems).to_contain_text("MS9")
    expect(problems.get_by_role("rowheader")).to_have_text(["4"])  # spreadsheet row 4
    expect(page.get_by_role("button", name=re.compile(r"^Import \d+ row"))).to_have_count(0)
    assert User.objects.count() == people_before

    # 2. The corrected file previews cleanly and imports all three people.
    upload(page, program, tmp_path, "people-fixed.csv", HEADER + GOOD_ROWS + FIXED_ROW)
    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile("[Ii]mported"))
    assert User.objects.count() == people_before + 3
    assert Membership.objects.get(user__email="dr.hale@school.test").capacity == 2

    # 3. Pair the new learner with the new mentor.
    page.goto(f"/console/programs/{program.code}/relationships/new/")
    page.get_by_label("Learner", exact=True).select_option(
        label="Amara Obi (amara.obi@school.test)"
    )
    # Each mentor's option names their places left: chosen by the person's id.
    hale = User.objects.get(email="dr.hale@school.test")
    page.get_by_label("Mentor", exact=True).select_option(value=str(hale.pk))
    page.get_by_role("button", name="Pair them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Amara Obi and Dr. Sam Hale")
    assert Relationship.objects.filter(learner__email="amara.obi@school.test").exists()

    # 4. Lucia's assessor is also a mentor here: pairing them is refused, with the reason.
    membership_grant(user=assessor, role=Role.MENTOR, program=program)
    today = timezone.localdate()
    services.assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind="assessor",
        context="Surgery clerkship",
        starts_on=today - datetime.timedelta(days=3),
        ends_on=today + datetime.timedelta(days=40),
    )
    page.goto(f"/console/programs/{program.code}/relationships/new/")
    page.get_by_label("Learner", exact=True).select_option(label=f"Lucia Garcia ({learner.email})")
    page.get_by_label("Mentor", exact=True).select_option(value=str(assessor.pk))
    page.get_by_role("button", name="Pair them").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("R2 Role separation")
    expect(refusal).to_contain_text("Priya Raman is Lucia Garcia's assessor (Surgery clerkship")
    # What was chosen is still chosen, and nothing was created.
    expect(page.get_by_label("Mentor", exact=True)).to_have_value(str(assessor.pk))
    assert not Relationship.objects.filter(learner=learner).exists()
