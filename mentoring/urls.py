from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from mentoring import views

# The Django admin signs in through allauth, so its login gets the same MFA stage and rate
# limits as everyone else's, and MFARequiredMiddleware covers its pages.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Mentoring: operations"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
