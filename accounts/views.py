"""A person's own account pages."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ProfileForm, timezone_names
from accounts.middleware import LAST_ACTIVITY
from accounts.models import DAY_PARTS, ParticipantProfile


@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own profile; anyone signed in has one (created on first save)."""
    user = request.user
    instance = ParticipantProfile.objects.filter(user=user).first() or ParticipantProfile(user=user)
    form = ProfileForm(request.POST or None, instance=instance, user=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    context = {"form": form, "timezone_names": timezone_names(), "day_parts": DAY_PARTS}
    return render(request, "accounts/profile.html", context)


@require_POST
def session_keep_alive(request: HttpRequest) -> JsonResponse:
    """ "Stay signed in": the idle clock starts again now. Called by the warning's button and,
    at most every few minutes, while someone types (static/js/session.js). A POST with CSRF;
    an expired session never reaches here (SessionLifetimeMiddleware signs it out first and
    answers with the way to sign in)."""
    request.session[LAST_ACTIVITY] = time.time()
    return JsonResponse({"idle_seconds": int(settings.SESSION_IDLE_TIMEOUT.total_seconds())})
