"""PLACEHOLDER: being written."""

from django.http import Http404


def people(request, **kwargs):
    raise Http404


def person_detail(request, **kwargs):
    raise Http404


def person_invite(request, **kwargs):
    raise Http404


def assessments(request, **kwargs):
    raise Http404
