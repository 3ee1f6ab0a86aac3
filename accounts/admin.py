from allauth.account.forms import ResetPasswordForm
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.models import ImportBatch, Membership, Role, User
from accounts.services import membership_delete, membership_save
from accounts.signals import person_added


class UserChangeFormByEmail(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = ("email", "full_name")


class UserAddForm(forms.ModelForm):
    """SECURITY (R4): an operator adds a person without a password (they could sign in as
    them); the person is emailed an invitation to choose one."""

    class Meta:
        model = User
        fields = ("email", "full_name")

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class OperatorOnlyAdmin:
    """SECURITY (R9): who administers a program is the operators' (superusers') decision. Staff
    who are not superusers get a 404 on these pages, whatever permissions they were given."""

    def _operators_only(self, request) -> None:
        if not request.user.is_superuser:
            raise Http404("No such page.")

    def changelist_view(self, request, extra_context=None):
        self._operators_only(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._operators_only(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._operators_only(request)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._operators_only(request)
        return super().history_view(request, object_id, extra_context)


def memberships_save_formset(formset) -> None:
    """An inline of memberships saved through the services, so that the administer_program
    grant follows each row (a plain formset save would write the rows and grant nothing)."""
    instances = formset.save(commit=False)
    for membership in formset.deleted_objects:
        membership_delete(membership=membership)
    for membership in instances:
        membership_save(membership=membership)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["program"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeFormByEmail
    add_form = UserAddForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "memberships__role"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["code", "date_joined", "last_login"]

    def get_readonly_fields(self, request, obj=None):
        # SECURITY (R4): an operator who could change a person's address could send the
        # password link to themselves. People change their address themselves (allauth).
        return [*self.readonly_fields, "email"] if obj is not None else self.readonly_fields

    def user_change_password(self, request, id, form_url=""):
        """SECURITY (R4): an operator never chooses a person's password (they could sign in
        as them); the page sends the person a link to choose a new one themselves. A person
        who must use an authenticator app still needs it to sign in afterwards."""
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("No such person.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if request.method == "POST":
            if self._send_password_link(request, user):
                self.log_change(request, user, "Sent a link to choose a new password.")
            return self._back_to(user)
        return self._confirm(request, user, "Send a link to choose a new password", "password")

    def get_urls(self):
        reset = path(
            "<id>/reset-authenticator/",
            self.admin_site.admin_view(self.authenticator_reset),
            name="accounts_user_authenticator_reset",
        )
        return [reset, *super().get_urls()]

    def authenticator_reset(self, request, id):
        """SECURITY (R4): for a person who lost their authenticator. The operator never gets a
        way in: the authenticators are removed, the password is made unusable (which also ends
        every session of theirs), and the person is emailed a link to choose a new password,
        after which they must set up a new authenticator before reaching anything."""
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("No such person.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if request.method == "POST":
            Authenticator.objects.filter(user=user).delete()
            user.set_unusable_password()
            user.save(update_fields=["password"])
            self._send_password_link(request, user)
            self.log_change(
                request,
                user,
                "Reset the authenticator; sent a link to choose a new password.",
            )
            return self._back_to(user)
        return self._confirm(request, user, "Reset the authenticator app", "authenticator")

    def _send_password_link(self, request, user) -> bool:
        form = ResetPasswordForm(data={"email": user.email})
        if not form.is_valid():
            messages.error(request, f"No link could be sent to {user.email}.")
            return False
        form.save(request)
        messages.success(request, f"{user.email} was sent a link to choose a password.")
        return True

    def _back_to(self, user):
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:accounts_user_change", args=[user.pk])
        )

    def _confirm(self, request, user, title: str, what: str):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "person": user,
            "what": what,
            "opts": self.opts,
            "original": user,
        }
        return TemplateResponse(request, "admin/accounts/user/send_password_link.html", context)

    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["code", "email", "full_name", "password"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name"]})]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # The address allauth signs in with, verified by the invitation's link.
            EmailAddress.objects.get_or_create(
                user=obj, email=obj.email, defaults={"primary": True, "verified": True}
            )
            # The invitation goes through the one outbox (notify answers this signal).
            person_added.send(sender=User, user=obj, by=request.user)
            messages.info(request, f"{obj.email} will be emailed an invitation to sign in.")

    def save_formset(self, request, form, formset, change):
        if formset.model is Membership:
            memberships_save_formset(formset)
        else:
            super().save_formset(request, form, formset, change)

    filter_horizontal = []


@admin.register(Membership)
class MembershipAdmin(OperatorOnlyAdmin, admin.ModelAdmin):
    """Where an operator appoints program administrators and deans (and corrects any role).
    Every save, end and delete goes through accounts.services, which gives or takes the
    administer_program grant (R9): a program administrator appointed here can administer the
    program at once, and loses it when the membership ends or is deleted."""

    list_display = ["user", "role", "program", "started_at", "ended_at"]
    list_filter = ["role", "program"]
    search_fields = ["user__email", "user__full_name", "program__name"]
    autocomplete_fields = ["user", "program"]
    list_select_related = ["user", "program"]
    fields = ["user", "role", "program", "capacity", "started_at", "ended_at"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # One labelled date-and-time field each (the admin's split pair has no labels a screen
        # reader can read).
        if db_field.name in ("started_at", "ended_at"):
            return forms.DateTimeField(
                label=db_field.verbose_name.capitalize(),
                required=not db_field.blank,
                initial=db_field.default if db_field.has_default() else None,
                widget=forms.DateTimeInput(
                    attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
                ),
                help_text="In the site's time zone ("
                + timezone.get_current_timezone_name()
                + ")."
                + (" Leave empty while the role goes on." if db_field.name == "ended_at" else ""),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        # "Appoint an administrator" on a program's page opens this form with the program and
        # the role chosen (?program=<id>&role=program_admin).
        initial = super().get_changeform_initial_data(request)
        if initial.get("role") not in Role.values:
            initial.pop("role", None)
        return initial

    def save_model(self, request, obj, form, change):
        membership_save(membership=obj)
        if obj.role == Role.PROGRAM_ADMIN:
            if obj.ended_at is None or obj.ended_at > timezone.now():
                messages.info(request, f"{obj.user} can now administer {obj.program}.")
            else:
                messages.info(request, f"{obj.user} no longer administers {obj.program}.")

    def delete_model(self, request, obj):
        membership_delete(membership=obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "program"):
            membership_delete(membership=membership)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Operators see that an import happened and what became of it, never its rows or errors:
    those are personal data for the program's administrators only."""

    list_display = ["program", "kind", "status", "uploaded_at", "uploaded_by"]
    list_filter = ["kind", "status"]
    list_select_related = ["program", "uploaded_by"]
    # SECURITY: `rows`, `errors` and `columns` are deliberately absent from every list here.
    fields = [
        "code",
        "program",
        "kind",
        "status",
        "filename",
        "uploaded_at",
        "uploaded_by",
        "committed_at",
        "committed_by",
        "summary",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("rows", "errors", "columns")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# SECURITY (R4): allauth's own admin page shows and edits each person's authenticator data
# (the TOTP key, the recovery codes' seed). With it and a password reset, an operator could
# compute a mentor's codes, sign in as them and read their notes. No admin page has it.
if admin.site.is_registered(Authenticator):
    admin.site.unregister(Authenticator)
