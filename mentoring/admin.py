"""The operator's Django admin: metadata only. Operators run the deployment; they are not a
program role (R9), so rematch reasons and everything confidential stay out of here."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import OperatorOnlyAdmin, UserAdmin
from accounts.models import Membership, Role, User
from mentoring.models import (
    AccessLogEntry,
    AssessmentRole,
    Conflict,
    Program,
    Relationship,
    Term,
    WorkerHeartbeat,
)
from mentoring.notes import Access, access_record


class TermInline(admin.TabularInline):
    model = Term
    extra = 0


@admin.register(Program)
class ProgramAdmin(OperatorOnlyAdmin, admin.ModelAdmin):
    """Operators create programs here and, from a program's page, appoint its administrators
    (through the memberships' page, whose saves give the administer_program grant)."""

    list_display = ["name", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["code", "created_at", "administrators"]
    inlines = [TermInline]

    @admin.display(description="Administrators")
    def administrators(self, program: Program) -> str:
        if program.pk is None:
            return "Save the program first, then appoint its administrators here."
        current = (
            Membership.objects.current()
            .filter(program=program, role=Role.PROGRAM_ADMIN)
            .select_related("user")
        )
        names = ", ".join(str(m.user) for m in current)
        appoint = (
            reverse("admin:accounts_membership_add")
            + "?"
            + urlencode({"program": program.pk, "role": Role.PROGRAM_ADMIN})
        )
        listed = (
            reverse("admin:accounts_membership_changelist")
            + "?"
            + urlencode({"program__id__exact": program.pk, "role__exact": Role.PROGRAM_ADMIN})
        )
        return format_html(
            '{}<br><a href="{}">Appoint an administrator</a> · <a href="{}">Change or end a '
            "role</a>",
            names or "No administrator yet.",
            appoint,
            listed,
        )

    def get_fields(self, request, obj=None):
        # Who administers the program, near the top of its page.
        fields = [name for name in super().get_fields(request, obj) if name != "administrators"]
        return [*fields[:2], "administrators", *fields[2:]]


@admin.register(Relationship)
class RelationshipAdmin(admin.ModelAdmin):
    list_display = ["program", "guide", "learner", "status", "origin", "started_on", "ends_on"]
    list_filter = ["program", "status", "origin", "kind"]
    search_fields = ["guide__email", "learner__email"]
    list_select_related = ["program", "guide", "learner"]
    # Pairings change through the console, where the rules are applied (R1-R3).
    readonly_fields = [f.name for f in Relationship._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AssessmentRole)
class AssessmentRoleAdmin(admin.ModelAdmin):
    list_display = ["learner", "kind", "assessor", "context", "starts_on", "ends_on", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["learner__email", "assessor__email", "context"]
    list_select_related = ["learner", "assessor"]
    readonly_fields = [f.name for f in AssessmentRole._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    list_display = ["program", "kind", "status", "resolution", "raised_at", "resolved_at"]
    list_filter = ["program", "kind", "status"]
    readonly_fields = [f.name for f in Conflict._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at", "hostname", "count"]
    readonly_fields = ["name", "beat_at", "hostname", "count"]

    def has_add_permission(self, request) -> bool:
        return False


# SECURITY (R4): ConfidentialNote is deliberately not registered, not even its metadata: only
# the author reads a note, through mentoring.notes. The access log is shown read-only to a
# staff member with `mentoring.view_accesslogentry` (the table refuses changes anyway).
@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "actor",
        "action",
        "outcome",
        "object_kind",
        "object_code",
        "source_address",
    ]
    list_filter = ["action", "outcome", "object_kind"]
    search_fields = ["actor__email", "actor__full_name"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AccessLogEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OperatorLoggedUserAdmin(UserAdmin):
    """The accounts' admin, with every operator action on an account (addition, change,
    password link, deletion) appended to the access log that the privacy officer reads (R4:
    no operator action on someone's account goes unseen). Which fields or action, never the
    values."""

    def _record(self, request, user, what: str) -> None:
        access_record(
            Access.of(request),
            action=AccessLogEntry.Action.OPERATOR,
            outcome=AccessLogEntry.Outcome.ALLOWED,
            object_kind="account",
            object_code=user.code,
            reason=what,
        )

    def log_addition(self, request, obj, message):
        self._record(request, obj, "account added")
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._record(request, obj, _describe(message))
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for user in queryset:
            self._record(request, user, "account deleted")
        return super().log_deletions(request, queryset)


def _describe(message) -> str:
    """The admin's change message as words: "changed: Full name, Active" (field labels only)
    or the action's own sentence."""
    if isinstance(message, str):
        return message or "changed"
    fields = [name for part in message or [] for name in part.get("changed", {}).get("fields", [])]
    return f"changed: {', '.join(fields)}" if fields else "changed"


admin.site.unregister(User)
admin.site.register(User, OperatorLoggedUserAdmin)
