from django.contrib import admin

from matching.models import MatchRequest, MatchRun


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    """Operators see that runs happened and how they went; pairs are reviewed in the console."""

    list_display = ["program", "mode", "status", "matched", "unmatched", "seconds", "created_at"]
    list_filter = ["status", "mode", "program"]
    readonly_fields = [f.name for f in MatchRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a run and its proposals are the record of how pairs were made


@admin.register(MatchRequest)
class MatchRequestAdmin(admin.ModelAdmin):
    """Operators see where a self-match request stands (to answer "my request vanished").
    SECURITY: never the learner's message or the guide's reply: those are between the two."""

    list_display = ["program", "learner", "guide", "state", "created_at", "expires_at"]
    list_filter = ["state", "program"]
    fields = ["program", "learner", "guide", "state", "created_at", "expires_at", "answered_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
