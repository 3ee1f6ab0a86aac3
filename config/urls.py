from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from config import views as core

# The Django admin signs in through allauth, so its login gets the same MFA stage and rate
# limits as everyone else's, and MFARequiredMiddleware covers its pages.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Mentoring: operations"

urlpatterns = [
    path("", core.home, name="home"),
    path("healthz", core.healthz, name="healthz"),
    path("relationships/", include("mentoring.urls_participant")),
    path("relationships/", include("mentoring.urls_agreements")),
    path("notes/", include("mentoring.urls_notes")),
    path("privacy/", include("privacy.urls")),
    path("console/", include("console.urls")),
    path("console/", include("matching.urls")),
    path("matching/", include("matching.urls_participant")),
    path("meetings/", include("sessions_log.urls")),
    path("surveys/results/", include("surveys.urls_results")),
    path("surveys/", include("surveys.urls")),
    path("console/", include("surveys.urls_console")),
    path("dashboards/", include("dashboards.urls")),
    path("profile/", include("accounts.urls")),
    path("profile/data/", include("privacy.urls_data")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
