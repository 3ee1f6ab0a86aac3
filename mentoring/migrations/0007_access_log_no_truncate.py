"""TRUNCATE of the access log is refused too.

Row triggers (0006) do not fire on TRUNCATE, so until now only table ownership stood between
the log and a `manage.py flush` or a careless TRUNCATE by the owner. A statement trigger now
refuses it, unless the session set `mentoring.allow_access_log_truncate` to `on`: the test
runner does, because it empties every table between transactional tests. The setting is an
answer to accidents, not to an attacker who holds the owner's role (who could drop the
trigger); see README, "Confidential text".
"""

from django.db import migrations

TABLE = "mentoring_accesslogentry"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION mentoring_access_log_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('mentoring.allow_access_log_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the access log is append-only: TRUNCATE is refused'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_log_no_truncate
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION mentoring_access_log_refuse_truncate();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS access_log_no_truncate ON {TABLE};
DROP FUNCTION IF EXISTS mentoring_access_log_refuse_truncate();
"""


def trigger_up(apps, schema_editor):
    schema_editor.execute(POSTGRES_UP, params=None)


def trigger_down(apps, schema_editor):
    schema_editor.execute(POSTGRES_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [("mentoring", "0006_access_log_append_only")]

    operations = [migrations.RunPython(trigger_up, trigger_down)]
