"""Signals accounts sends for the layers above it to act on.

`person_added`: an operator created a person in the admin (sender: the User class; `user`,
`by`). The invitation email is notify's job (notify/invitations.py connects to it), and accounts,
the bottom layer, does not import notify.
"""

from django.dispatch import Signal

person_added = Signal()
