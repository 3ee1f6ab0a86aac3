"""PLACEHOLDER: being written."""

from django.http import Http404


def relationships(request, **kwargs):
    raise Http404


def relationship_create(request, **kwargs):
    raise Http404


def quiet(request, **kwargs):
    raise Http404


def relationship_detail(request, **kwargs):
    raise Http404


def relationship_pause(request, **kwargs):
    raise Http404


def relationship_resume(request, **kwargs):
    raise Http404


def relationship_end(request, **kwargs):
    raise Http404


def conflicts(request, **kwargs):
    raise Http404


def conflict_resolve(request, **kwargs):
    raise Http404


def rematch_requests(request, **kwargs):
    raise Http404


def rematch_grant(request, **kwargs):
    raise Http404
