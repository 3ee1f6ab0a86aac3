"""A person's own profile, and staying signed in (namespace `accounts`)."""

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("keep-alive/", views.session_keep_alive, name="keep-alive"),
]
