"""Create (idempotently) a small, realistic school to try the product with.

The named people below are today's school. Behind them the school has several years of history
(`seed_scale`'s data set at a small scale, merged into the same school once), so that a dean's
dashboards show figures rather than "hidden"; the command ends by refreshing those figures.

Known passwords and TOTP secrets are printed at the end: demo data only. The command refuses
to run when DEMO_ALLOWED is off (the default when DJANGO_DEBUG=False).
"""

from __future__ import annotations

import datetime
import time

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import ParticipantProfile, Role, StatusChange, User
from accounts.permissions import requires_mfa
from accounts.services import membership_grant, user_create
from dashboards.summaries import summaries_refresh
from devtools.demo_school import (
    AVAILABILITY,
    DEMO_PASSWORD,
    DOMAIN,
    HISTORY_SCALE,
    HISTORY_SEED,
    PENDING_REQUEST,
    PEOPLE,
    PRIVACY_OFFICERS,
    PROFILES,
    PROGRAMS,
    RANKED_CHOICES,
    SELF_MATCH_PROGRAM,
    demo_totp_secret,
)
from devtools.scale import EMAIL_DOMAIN, ScaleSeed
from matching import preferences
from matching.models import Choice, MatchRequest
from mentoring import agreements, notes, services
from mentoring.models import (
    AssessmentRole,
    MentoringAgreement,
    Program,
    Relationship,
    RematchRequest,
    Term,
)
from sessions_log import availability, booking, logs
from sessions_log.models import AvailabilityPattern, Meeting
from surveys.defaults import templates_install_missing


class Command(BaseCommand):
    help = (
        "Create or refresh the demo school (idempotent), with its history, refresh the "
        "dashboards' figures and print its sign-in details."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--history-scale",
            type=float,
            default=HISTORY_SCALE,
            help=f"Size of the school's history (seed_scale's scale; default {HISTORY_SCALE}, "
            "0 for none). Added once: a school that has a history keeps it.",
        )

    def handle(self, *args, history_scale, **options):
        if not settings.DEMO_ALLOWED:
            raise CommandError(
                "The demo sets known passwords. It runs only with DJANGO_DEBUG=True or "
                "DEMO_ALLOWED=True (never on a production site)."
            )
        if not 0 <= history_scale <= 2:
            raise CommandError("--history-scale must be between 0 and 2.")
        with transaction.atomic():
            rows = self._build()
            self._build_program_life()
            templates_install_missing()  # each program's survey templates (surveys/defaults.py)
        if history_scale:
            self._build_history(history_scale)
        self._refresh_dashboards()
        self._print(rows)

    def _build_history(self, scale: float) -> None:
        """Years of the school's past, behind the named people: written once (a school with a
        history, from here or from `seed_scale`, keeps it). It shares the school's programs of
        the same name (Residency application advising)."""

        if User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").exists():
            self.stdout.write("The school's history is there already.")
            return
        started = time.perf_counter()
        counts = ScaleSeed(scale=scale, seed=HISTORY_SEED).run()
        self.stdout.write(
            f"The school's history: {counts['learners']:,} learners, {counts['guides']:,} "
            f"guides, {counts['relationships']:,} relationships, {counts['meetings']:,} "
            f"meetings, {counts['responses']:,} survey answers over six academic years "
            f"({time.perf_counter() - started:.1f} s)."
        )

    def _refresh_dashboards(self) -> None:
        done = summaries_refresh()
        if done is None:
            self.stdout.write("Dashboard figures: another refresh is running; they follow it.")
        else:
            self.stdout.write(
                f"Dashboard figures refreshed in {done.duration_ms / 1000:.1f} s "
                f"({done.cells:,} figures, {done.hidden:,} hidden)."
            )

    def _build(self) -> list[tuple[str, str, str, str | None]]:
        programs = {}
        for name, kind, description in PROGRAMS:
            pairing = (
                Program.Pairing.SELF
                if name == SELF_MATCH_PROGRAM
                else Program.Pairing.ADMINISTRATOR
            )
            program, _ = Program.objects.update_or_create(
                name=name, defaults={"kind": kind, "description": description, "pairing": pairing}
            )
            programs[name] = program
        rows = []
        for local, full_name, grants, operator in PEOPLE:
            email = f"{local}@{DOMAIN}"
            user = User.objects.filter(email=email).first()
            if user is None:
                user = user_create(email=email, full_name=full_name, password=DEMO_PASSWORD)
            else:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            if operator and not user.is_superuser:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            for role, program_name in grants:
                membership_grant(
                    user=user, role=role, program=programs[program_name] if program_name else None
                )
            if local in PRIVACY_OFFICERS:
                user.groups.add(Group.objects.get(name="Privacy officer"))
            secret = None
            if requires_mfa(user):
                secret = demo_totp_secret(email)
                Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
                TOTP.activate(user, secret)
                RecoveryCodes.activate(user)
            roles = ", ".join(
                sorted({str(Role(role).label) for role, _ in grants})
                or ["Privacy officer" if local in PRIVACY_OFFICERS else "Operator"]
            )
            rows.append((email, full_name, roles, secret))
        return rows

    def _build_program_life(self) -> None:
        """Profiles (with weekly availability), terms, status history, relationships, an
        assessment-role conflict waiting in the queue, a rematch request, an informal
        relationship to confirm, a self-match request waiting for an answer and a learner's
        ranked choices."""

        today = timezone.localdate()
        ago = lambda days: today - datetime.timedelta(days=days)  # noqa: E731
        person = {u.email.split("@")[0]: u for u in User.objects.filter(email__endswith=DOMAIN)}
        programs = {p.name: p for p in Program.objects.filter(name__in=[n for n, *_ in PROGRAMS])}

        for local, (level, campus, specialties, research, languages) in PROFILES.items():
            ParticipantProfile.objects.update_or_create(
                user=person[local],
                defaults={
                    "level": level,
                    "campus": campus,
                    "specialty_interests": specialties,
                    "research_interests": research,
                    "languages": languages,
                    "cohort": "" if level in ("faculty", "PGY3") else "Class of 2030",
                    "timezone": "America/New_York",
                    "contact_preference": "Email, replies within two working days",
                    "availability": AVAILABILITY[local],
                },
            )
            population = "faculty" if level == "faculty" else "learner"
            StatusChange.objects.get_or_create(
                user=person[local],
                population=population,
                effective_on=datetime.date(today.year - 1, 8, 1),
                defaults={"status": "active" if population == "faculty" else "enrolled"},
            )
        year = today.year if today.month >= 8 else today.year - 1
        terms = {}
        for name, program in programs.items():
            # The term running today: the school's own when its history has one, else the
            # demo's academic-year term.
            terms[name] = (
                program.terms.filter(starts_on__lte=today, ends_on__gte=today)
                .order_by("-starts_on")
                .first()
                or Term.objects.get_or_create(
                    program=program,
                    name=f"{year}-{str(year + 1)[2:]}",
                    defaults={
                        "starts_on": datetime.date(year, 8, 1),
                        "ends_on": datetime.date(year + 1, 6, 30),
                    },
                )[0]
            )
        advising = programs["Residency application advising"]
        advising.advising_overlap = Program.AdvisingOverlap.FLAG
        advising.save(update_fields=["advising_overlap"])

        def pair(program_name, guide, learner, days_ago):
            program = programs[program_name]
            existing = Relationship.objects.filter(
                program=program, guide=person[guide], learner=person[learner]
            ).first()
            return existing or services.relationship_start(
                program=program,
                guide=person[guide],
                learner=person[learner],
                started_on=ago(days_ago),
                term=terms[program_name],
            )

        def assess(assessor, learner, kind, context, starts_days_ago, length_days):
            if not AssessmentRole.objects.filter(
                assessor=person[assessor], learner=person[learner], context=context
            ).exists():
                services.assessment_role_add(
                    assessor=person[assessor],
                    learner=person[learner],
                    kind=kind,
                    context=context,
                    starts_on=ago(starts_days_ago),
                    ends_on=ago(starts_days_ago - length_days),
                )

        mentoring = "MS1 faculty mentoring"
        pair(mentoring, "mentor.ito", "ms1.garcia", 90)
        patel = pair(mentoring, "mentor.adeyemi", "ms1.patel", 20)
        pair(mentoring, "mentor.novak", "ms1.nguyen", 120)  # no meeting since: quiet
        # Dr. Novak supervises Jordan Brown's anatomy lab: pairing them is refused (R2).
        assess("mentor.novak", "ms1.brown", "supervisor", "Anatomy lab, block 2", 10, 60)
        # Dr. Adeyemi is scheduled to assess her own mentee: queued for the administrator.
        assess("mentor.adeyemi", "ms1.patel", "assessor", "Foundations OSCE", -14, 1)
        if not patel.conflicts.exists():
            raise CommandError("The demo's assessment-role conflict was not queued.")

        coaching = "Longitudinal coaching"
        for learner in ("ms2.kowalski", "ms1.garcia", "ms3.haddad"):  # the coach is now full
            pair(coaching, "coach.rahman", learner, 60)

        pair("Residency application advising", "advisor.lindqvist", "ms4.johnson", 45)
        # The advisor also directs Maya's sub-internship: allowed here, and flagged.
        assess("advisor.lindqvist", "ms4.johnson", "program_director", "EM sub-internship", 5, 30)

        silva = pair("PGY peer mentoring", "pgy3.chen", "pgy1.silva", 70)
        if not RematchRequest.objects.filter(relationship=silva).exists():
            services.rematch_request_create(
                relationship=silva, reason="Our call schedules never line up."
            )
        if not Relationship.objects.filter(learner=person["pgy1.kim"]).exists():
            services.relationship_propose_informal(
                program=programs["PGY peer mentoring"],
                guide=person["pgy3.chen"],
                learner=person["pgy1.kim"],
                started_on=ago(7),
            )
        self._build_choosing(person, programs)
        self._build_meetings(person, programs)
        self._build_confidential(person, programs)

    def _build_meetings(self, person, programs) -> None:
        """Meetings: Dr. Ito publishes a weekly time, Lucia Garcia has booked the next one, and
        a meeting of two weeks ago is logged with an action item still open (it shows at the
        top of the booked meeting). Idempotent: nothing is added once Dr. Ito has a weekly
        time."""

        ito, garcia = person["mentor.ito"], person["ms1.garcia"]
        if AvailabilityPattern.objects.filter(guide=ito).exists():
            return
        relationship = Relationship.objects.get(
            program=programs["MS1 faculty mentoring"], guide=ito, learner=garcia
        )
        today = timezone.localdate()
        availability.pattern_add(
            guide=ito,
            weekday=(today + datetime.timedelta(days=2)).weekday(),
            start_time=datetime.time(16, 0),
            duration_minutes=45,
            timezone_name="America/New_York",
            location="Medical Education Building, room 4.12",
            starts_on=today,
        )
        first = booking.free_slots_for(relationship).first()
        if first is not None:
            # Booked directly rather than through booking.meeting_book, which would email both
            # an invitation: the demo emails nobody.
            Meeting.objects.create(
                relationship=relationship,
                slot=first,
                starts_at=first.starts_at,
                ends_at=first.ends_at,
                location=first.location,
                booked_by=garcia,
            )
        earlier = timezone.now().replace(minute=0, second=0, microsecond=0)
        logs.meeting_adhoc_create(
            relationship=relationship,
            by=garcia,
            starts_at=earlier - datetime.timedelta(days=14),
            duration_minutes=30,
            topics=["career", "wellbeing"],
            location="Hospital cafeteria",
            reflection="I want to decide between two electives on my own; listing what each "
            "teaches me helped more than asking which one looks better.",
            action_item="Write to both elective directors about their schedules",
        )

    def _build_confidential(self, person, programs) -> None:
        """Lucia Garcia and Dr. Ito have agreed their mentoring agreement and set two goals;
        Dr. Ito keeps a confidential note and has shared another with her. Patrick Byrne is
        the privacy officer. Idempotent: nothing is added once the agreement exists."""

        ito, garcia = person["mentor.ito"], person["ms1.garcia"]
        relationship = Relationship.objects.get(
            program=programs["MS1 faculty mentoring"], guide=ito, learner=garcia
        )
        if MentoringAgreement.objects.filter(relationship=relationship).exists():
            return
        agreements.agreement_save(
            by=garcia,
            relationship=relationship,
            goals="Choose my second-year electives with a clear reason for each; find a "
            "summer research project.",
            meeting_frequency="monthly",
            preferred_contact="email",
            boundaries="Email on weekdays; anything about assessment goes to the course "
            "director, not to my mentor.",
            agree=True,
            acknowledged=True,
        )
        agreements.agreement_agree(by=ito, relationship=relationship, acknowledged=True)
        today = timezone.localdate()
        electives = agreements.goal_create(
            by=garcia,
            relationship=relationship,
            title="Choose two electives by the end of term, with a written reason for each",
            domain="academic",
            target_on=today + datetime.timedelta(days=60),
        )
        agreements.goal_progress_add(
            by=garcia,
            goal=electives,
            note="Listed four candidates and what each would teach me.",
            status="in_progress",
        )
        agreements.goal_create(
            by=ito,
            relationship=relationship,
            title="Contact three research groups about a summer project",
            domain="research",
            target_on=today + datetime.timedelta(days=120),
        )
        system = notes.Access(user=ito)
        notes.note_create(
            system,
            relationship=relationship,
            body="Lucia seems tired at the end of the block; ask next time how her sleep is "
            "and whether she knows about the wellbeing service.",
        )
        shared = notes.note_create(
            system,
            relationship=relationship,
            body="Two people to talk to about electives: the surgery clerkship lead and last "
            "year's student representative.",
        )
        notes.note_share(system, shared.code)

    def _build_choosing(self, person, programs) -> None:
        """Participants' side of matching: in the self-match program a learner still choosing
        (with suggestions) and a request waiting for a mentor's answer; in an
        administrator-paired program an unpaired learner's ranked choices."""

        program_name, chooser, chosen = RANKED_CHOICES
        program = programs[program_name]
        if not Choice.objects.filter(
            program=program, side=Choice.Side.LEARNER, chooser=person[chooser]
        ).exists():
            preferences.choices_set(
                program=program,
                side=Choice.Side.LEARNER,
                chooser=person[chooser],
                chosen_ids=[person[local].pk for local in chosen],
            )

        program = programs[SELF_MATCH_PROGRAM]
        learner, guide, message = PENDING_REQUEST
        learner, guide = person[learner], person[guide]
        asked = MatchRequest.objects.filter(program=program, learner=learner)
        # `make run` reloads the demo: a request of an earlier load that expired unanswered is
        # replaced, so there is always one to answer. Once answered or withdrawn it stays so.
        now = timezone.now()
        asked.pending().filter(expires_at__lte=now).update(state=MatchRequest.State.EXPIRED)
        if not asked.exclude(state=MatchRequest.State.EXPIRED).exists():
            # Created here rather than by preferences.request_send, which emails the mentor:
            # the demo emails nobody. The mentor must be one the learner could ask.
            if guide.pk not in {
                s.person.pk for s in preferences.suggested_guides(program, learner)
            }:
                raise CommandError(f"{guide} is not among {learner}'s suggestions.")
            MatchRequest.objects.create(
                program=program,
                learner=learner,
                guide=guide,
                message=message,
                expires_at=now + datetime.timedelta(days=program.request_expiry_days),
            )
        if not preferences.suggested_guides(program, person["pgy1.fischer"]):
            raise CommandError("The demo's self-match learner has no suggestions.")

    def _print(self, rows) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS("Demo school ready."))
        out.write(f"Password for every demo account: {DEMO_PASSWORD}")
        out.write(
            "Accounts with a TOTP secret need a code: add the secret to an authenticator app,"
        )
        out.write("or print the current code with: python manage.py demo_totp EMAIL")
        for email, full_name, roles, secret in rows:
            line = f"  {email:<42} {full_name:<22} {roles}"
            if secret:
                line += f"\n  {'':<42} TOTP secret {secret}"
            out.write(line)
