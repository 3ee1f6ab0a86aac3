"""PLACEHOLDER: being written."""

from django.http import Http404


def people_export(request, **kwargs):
    raise Http404


def people_import(request, **kwargs):
    raise Http404


def assessments_export(request, **kwargs):
    raise Http404


def assessments_import(request, **kwargs):
    raise Http404


def import_preview(request, **kwargs):
    raise Http404


def import_commit(request, **kwargs):
    raise Http404
