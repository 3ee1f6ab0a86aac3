"""The home page (one section per role a person holds) and the health probe."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import GUIDE_ROLES, Membership, Role
from accounts.permissions import is_privacy_officer, roles_of
from accounts.times import zone_of
from config.celery import app as celery_app
from config.home import todo_lists, when_text
from matching.models import MatchRequest
from mentoring.models import Program, Relationship, WorkerHeartbeat
from notify.broker import broker_reachable


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    roles = roles_of(user)
    memberships = (
        Membership.objects.current()
        .for_user(user)
        .filter(program__isnull=False)
        .select_related("program")
        .order_by("program__name", "role")
    )
    by_role: dict[str, list[Program]] = defaultdict(list)
    for membership in memberships:
        by_role[membership.role].append(membership.program)

    administered = []
    if Role.PROGRAM_ADMIN in roles:
        # R9: the list comes from the object grant, not from the membership row alone.
        administered = list(
            Program.objects.administered_by(user).annotate(
                learners=Count(
                    "memberships__user",
                    filter=Q(memberships__role=Role.LEARNER, memberships__ended_at__isnull=True),
                    distinct=True,
                ),
                guides=Count(
                    "memberships__user",
                    filter=Q(memberships__role__in=GUIDE_ROLES, memberships__ended_at__isnull=True),
                    distinct=True,
                ),
            )
        )

    institution = None
    if Role.DEAN in roles:
        # R7: deans see counts only, never a list of people.
        current = Membership.objects.current()
        institution = {
            "programs": Program.objects.active().count(),
            "learners": current.filter(role=Role.LEARNER).values("user").distinct().count(),
            "guides": current.filter(role__in=GUIDE_ROLES).values("user").distinct().count(),
        }

    # Current relationships, to name each learner's guide and count each guide's learners.
    mine = list(
        Relationship.objects.for_participant(user)
        .filter(status__in=["active", "paused", "proposed"])
        .select_related("guide", "learner")
    )
    guides_by_program: dict[int, list] = defaultdict(list)
    learners_by_program: dict[int, int] = defaultdict(int)
    waiting = 0
    for relationship in mine:
        if relationship.learner_id == user.pk and relationship.status != "proposed":
            guides_by_program[relationship.program_id].append(relationship.guide)
        elif relationship.guide_id == user.pk:
            if relationship.status == "proposed":
                waiting += 1
            else:
                learners_by_program[relationship.program_id] += 1
    learning_in = [(p, guides_by_program.get(p.pk, [])) for p in by_role.get(Role.LEARNER, [])]
    # Self-match requests waiting for this guide's answer, per program (guides only: the
    # home page is everyone's first request).
    asking = (
        dict(
            MatchRequest.objects.pending()
            .filter(guide=user, expires_at__gt=timezone.now())
            .values_list("program")
            .annotate(n=Count("id"))
        )
        if by_role.keys() & GUIDE_ROLES
        else {}
    )
    guiding = []
    for role in (Role.MENTOR, Role.COACH, Role.ADVISOR):
        for program in by_role.get(role, []):
            guiding.append(
                (
                    Role(role).label,
                    program,
                    learners_by_program.get(program.pk, 0),
                    asking.get(program.pk, 0),
                )
            )

    zone = zone_of(user)
    todos = [
        (todo, [(item, when_text(item.when, zone)) for item in todo.items])
        for todo in todo_lists(user, roles, administered)
    ]
    context = {
        "todos": todos,
        "roles": roles,
        "learning_in": learning_in,
        "guiding": guiding,
        "waiting_confirmation": waiting,
        "administered": administered,
        "institution": institution,
        "has_no_role": not roles and not is_privacy_officer(user),
    }
    return render(request, "mentoring/home.html", context)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status for load balancers and orchestration (no secrets, no people)."""
    checks: dict[str, object] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
        healthy = False
    # Short timeouts: a hung broker makes this answer 503 at once, never stall (R11).
    if broker_reachable(celery_app):
        checks["broker"] = "ok"
    else:
        checks["broker"] = "unavailable"
        healthy = False
    heartbeat = None
    if checks["database"] == "ok":
        beat = WorkerHeartbeat.objects.filter(name="heartbeat").first()
        if beat is not None:
            heartbeat = {
                "last": beat.beat_at.isoformat(),
                "age_seconds": int((timezone.now() - beat.beat_at).total_seconds()),
            }
    # The worker heartbeat is reported, not judged: the web tier is healthy without a worker.
    checks["worker_heartbeat"] = heartbeat
    body = {"status": "ok" if healthy else "unavailable", **checks}
    return JsonResponse(body, status=200 if healthy else 503)
