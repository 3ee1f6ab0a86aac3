"""bench_web's URL map: the product's, plus `/bench/bare`, a bare two-query view (no
template, no sign-in) that measures what the framework and the stack cost on their own."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns
from mentoring.models import Program


@login_not_required
def bare(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    programs = Program.objects.count()
    return HttpResponse(f"{programs} programs\n", content_type="text/plain")


urlpatterns = [path("bench/bare", bare), *product_urlpatterns]
