"""The access log is append-only at the database (R4), and the privacy-officer group exists.

A trigger refuses UPDATE and DELETE on every row.
TRUNCATE is refused by 0007; the application's database role in production should not own the
tables (see README, "Confidential text and the access log").
"""

from django.db import migrations

TABLE = "mentoring_accesslogentry"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION mentoring_access_log_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_log_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION mentoring_access_log_refuse_change();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS access_log_append_only ON {TABLE};
DROP FUNCTION IF EXISTS mentoring_access_log_refuse_change();
"""
PRIVACY_OFFICER_GROUP = "Privacy officer"


def triggers_up(apps, schema_editor):
    schema_editor.execute(POSTGRES_UP, params=None)


def triggers_down(apps, schema_editor):
    schema_editor.execute(POSTGRES_DOWN, params=None)


def group_up(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make sure this app's exist now.
    create_permissions(global_apps.get_app_config("mentoring"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=PRIVACY_OFFICER_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="mentoring",
            codename__in=["view_accesslogentry", "export_accesslogentry"],
        )
    )


def group_down(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=PRIVACY_OFFICER_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mentoring", "0005_notes_agreements_goals"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(triggers_up, triggers_down),
        migrations.RunPython(group_up, group_down),
    ]
