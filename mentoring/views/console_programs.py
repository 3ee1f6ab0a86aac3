"""PLACEHOLDER: being written."""

from django.http import Http404


def program_list(request, **kwargs):
    raise Http404


def program_detail(request, **kwargs):
    raise Http404


def program_edit(request, **kwargs):
    raise Http404


def term_create(request, **kwargs):
    raise Http404
