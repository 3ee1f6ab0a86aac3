"""Production settings: refuse to start without a secret key and hosts; pass check --deploy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from config import settings as product_settings

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEMO_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "mentoring.example.edu",
        "DJANGO_VAR_DIR": str(tmp_path),
        "CONFIDENTIAL_KEYS": Fernet.generate_key().decode(),
    }


def test_check_deploy_passes_with_production_variables(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(production_env):
    del production_env["DJANGO_SECRET_KEY"]
    result = manage("check", **production_env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_short_secret_key(production_env):
    production_env["DJANGO_SECRET_KEY"] = "too-short"
    result = manage("check", **production_env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(production_env):
    del production_env["DJANGO_ALLOWED_HOSTS"]
    result = manage("check", **production_env)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must list" in result.stderr


def test_production_refuses_to_start_without_confidential_keys(production_env):
    del production_env["CONFIDENTIAL_KEYS"]
    result = manage("check", **production_env)
    assert result.returncode != 0
    assert "CONFIDENTIAL_KEYS must hold at least one Fernet key" in result.stderr


def test_a_malformed_key_is_refused_at_start_without_printing_it(production_env):
    good = production_env["CONFIDENTIAL_KEYS"]
    production_env["CONFIDENTIAL_KEYS"] = f"{good},not-a-fernet-key-but-secret-ish"
    result = manage("check", **production_env)
    assert result.returncode != 0
    assert "key number 2 is not a Fernet key" in result.stderr
    assert "not-a-fernet-key-but-secret-ish" not in result.stderr


def test_production_refuses_the_demo(production_env):
    result = manage("demo", **production_env)
    assert result.returncode != 0
    assert "never on a production site" in result.stderr


def test_a_malformed_boolean_is_named(production_env):
    production_env["DJANGO_DEBUG"] = "maybe"
    result = manage("check", **production_env)
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


def test_passwords_are_hashed_with_argon2():
    # The tests themselves use a fast hasher (conftest); the product's first hasher is Argon2.
    assert product_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def _settings_in_a_fresh_process(tmp_path, **env_vars):
    code = (
        "from django.conf import settings; import django; django.setup(); "
        "db = settings.DATABASES['default']; "
        "print(db['ENGINE'], db['NAME'], db.get('OPTIONS', {}).get('host', db['HOST'])); "
        "print(settings.CELERY_BROKER_URL); print(settings.CACHES['default']['BACKEND']); "
        "print(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get('control_folder', ''))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_VAR_DIR": str(tmp_path)})
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_database_url_the_demo_uses_its_embedded_postgresql(tmp_path):
    result = _settings_in_a_fresh_process(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "mentoring",
        str(tmp_path / "pgdata"),  # the socket bin/demo's server listens on
        "filesystem://",
        "django.core.cache.backends.locmem.LocMemCache",
        str(tmp_path / "broker" / "control"),  # not a `control/` in the working directory
    ]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("sqlite:///x.db", "'sqlite:///x.db'"),
        (
            "mysql://app:s3cret@db.example.edu/mentoring",
            "'mysql://app:***@db.example.edu/mentoring'",
        ),
        ("not a url", "'not a url'"),
    ],
)
def test_settings_refuse_a_database_that_is_not_postgresql_naming_it(tmp_path, url, named):
    result = _settings_in_a_fresh_process(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL must name a PostgreSQL server" in result.stderr
    assert named in result.stderr
    assert "s3cret" not in result.stderr  # a password is never repeated


def test_with_urls_set_it_uses_postgresql_and_redis():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")


@pytest.mark.parametrize(("behind", "count"), [("True", "1"), ("False", "0")])
def test_sign_in_throttles_believe_the_forwarded_address_only_behind_the_proxy(
    production_env, behind, count
):
    show = "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)"
    result = manage("shell", "-c", show, DJANGO_BEHIND_TLS_PROXY=behind, **production_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == count


def test_production_without_database_url_refuses_to_start(tmp_path):
    """The embedded server's default is the demo's; a production site names its server."""
    result = _settings_in_a_fresh_process(
        tmp_path,
        DJANGO_DEBUG="False",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="mentoring.example.edu",
        CONFIDENTIAL_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode != 0
    assert "DATABASE_URL must name the site's PostgreSQL server" in result.stderr
