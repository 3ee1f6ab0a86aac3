from django.contrib import admin

from matching.models import MatchRun


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    """Operators see that runs happened and how they went; pairs are reviewed in the console."""

    list_display = ["program", "mode", "status", "matched", "unmatched", "seconds", "created_at"]
    list_filter = ["status", "mode", "program"]
    readonly_fields = [f.name for f in MatchRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
