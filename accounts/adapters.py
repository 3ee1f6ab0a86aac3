from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Accounts come from program administrators (imports and invitations), not sign-up.
        return settings.ACCOUNT_ALLOW_SIGNUP
