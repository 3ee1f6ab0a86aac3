"""PLACEHOLDER: being written."""

from django.http import Http404


def relationship_list(request, **kwargs):
    raise Http404


def informal_new(request, **kwargs):
    raise Http404


def relationship_detail(request, **kwargs):
    raise Http404


def relationship_confirm(request, **kwargs):
    raise Http404


def relationship_decline(request, **kwargs):
    raise Http404


def rematch_request(request, **kwargs):
    raise Http404


def rematch_withdraw(request, **kwargs):
    raise Http404
