from django.contrib import admin

from mentoring.models import Program, WorkerHeartbeat


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["code", "created_at"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at", "hostname", "count"]
    readonly_fields = ["name", "beat_at", "hostname", "count"]

    def has_add_permission(self, request) -> bool:
        return False
