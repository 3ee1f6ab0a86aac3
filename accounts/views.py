"""A person's own account pages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import ProfileForm, timezone_names
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
