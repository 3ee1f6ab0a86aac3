"""The operator's Django admin for meetings: metadata only (R5, R9). Operators are not a program
role: they see when meetings were, their status, duration and topic categories, never a
reflection or an action item. Nothing is added or deleted here; bookings and logs change
through the product's pages, where the rules apply."""

from __future__ import annotations

from django.contrib import admin

from sessions_log.models import Delivery, Meeting, MeetingLog


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # view only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Meeting)
class MeetingAdmin(_ReadOnly):
    list_display = ["starts_at", "relationship", "status", "slot"]
    list_filter = ["status", "relationship__program"]
    list_select_related = [
        "relationship__program",
        "relationship__guide",
        "relationship__learner",
        "slot",
    ]
    date_hierarchy = "starts_at"
    # No inlines: the log and the action items would bring their text along.
    fields = readonly_fields = [
        "code",
        "relationship",
        "slot",
        "starts_at",
        "ends_at",
        "status",
        "sequence",
        "created_at",
        "updated_at",
    ]


@admin.register(MeetingLog)
class MeetingLogAdmin(_ReadOnly):
    list_display = ["meeting", "duration_minutes", "topics", "created_at"]
    list_select_related = [
        "meeting__relationship__program",
        "meeting__relationship__guide",
        "meeting__relationship__learner",
    ]
    # SECURITY (R5): `reflection` is CONFIDENTIAL and named nowhere here: not in the list, the
    # form, the search or the filters. `fields` lists what the page shows; nothing else is read
    # into a widget.
    fields = readonly_fields = ["meeting", "duration_minutes", "topics", "created_at", "updated_at"]

    def get_queryset(self, request):
        # The column is not even loaded for the operator's pages.
        return super().get_queryset(request).defer("reflection")


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly):
    """Where each reminder and nudge stands (R11): claimed, sent, skipped, attempts. Operators
    answer "I never got my reminder" from here; the message itself is not stored."""

    list_display = ["kind", "recipient", "meeting", "claimed_at", "sent_at", "skipped", "attempts"]
    list_filter = ["kind", "skipped"]
    list_select_related = ["recipient", "meeting__relationship__program"]
    date_hierarchy = "claimed_at"
    fields = readonly_fields = [
        "kind",
        "recipient",
        "meeting",
        "claimed_at",
        "sent_at",
        "skipped",
        "attempts",
    ]
