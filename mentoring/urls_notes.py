"""Confidential notes (namespace `notes`, R4): every page asks for a recent authentication."""

from django.urls import path

from mentoring.views import notes

app_name = "notes"

urlpatterns = [
    path("", notes.my_notes, name="my-notes"),
    path("export.csv", notes.notes_export, name="export"),
    path("relationship/<uuid:code>/", notes.relationship_notes, name="relationship"),
    path("relationship/<uuid:code>/new/", notes.note_new, name="note-new"),
    path("<uuid:code>/", notes.note_detail, name="note"),
    path("<uuid:code>/edit/", notes.note_edit, name="note-edit"),
    path("<uuid:code>/share/", notes.note_share, name="note-share"),
    path("<uuid:code>/delete/", notes.note_delete, name="note-delete"),
]
