"""PLACEHOLDER: being written."""

from django.http import Http404


def profile(request, **kwargs):
    raise Http404
