"""Settings for the whole deployment, read from the environment.

Every variable is documented in `.env.example`. With nothing set, the project runs the
one-command demo: DEBUG on, the embedded PostgreSQL server `bin/demo` starts under `var/`,
Celery's filesystem transport and a local-memory cache. Production (`DJANGO_DEBUG=False`)
refuses to start without a secret key and allowed hosts, and passes
`manage.py check --deploy --fail-level WARNING`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DJANGO_VAR_DIR") or BASE_DIR / "var")


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or `default` when it is unset or empty (as in a copied .env)."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

# --- Secrets and hosts -------------------------------------------------------------------------
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not DEBUG:
    # SECURITY: production must never fall back to a known key or accept any Host header.
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters when "
            "DJANGO_DEBUG=False (python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must list the host names this site answers to when "
            "DJANGO_DEBUG=False (comma-separated, e.g. mentoring.example.edu)."
        )
else:
    SECRET_KEY = SECRET_KEY or "django-insecure-development-only-key-never-used-in-production-0123"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Behind a trusted TLS proxy: it sets X-Forwarded-Proto, and the access log takes the client's
# address from the last X-Forwarded-For entry (the one the proxy appended).
BEHIND_TLS_PROXY = env_bool("DJANGO_BEHIND_TLS_PROXY", False)
# allauth's rate limits key on the client's address: behind the one trusted proxy, the last
# X-Forwarded-For entry (the one it appended), as the access log reads it (mentoring.notes).
# Without a proxy, X-Forwarded-For comes from the client and is not believed.
ALLAUTH_TRUSTED_PROXY_COUNT = 1 if BEHIND_TLS_PROXY else 0

# --- Keys for confidential text (R4) --------------------------------------------------------
# Fernet keys, comma-separated, newest first: new text is encrypted with the first, every key
# decrypts. Add a key in front, then `manage.py rotate_confidential_keys` re-encrypts old rows;
# only then drop the old key. They live outside the database (environment or secret store).
CONFIDENTIAL_KEYS = env_list("CONFIDENTIAL_KEYS")
for _position, _key in enumerate(CONFIDENTIAL_KEYS, start=1):
    try:
        from cryptography.fernet import Fernet

        Fernet(_key.encode())
    except (ValueError, TypeError) as exc:  # never print the key itself
        raise ImproperlyConfigured(
            f"CONFIDENTIAL_KEYS: key number {_position} is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc
if not DEBUG and not CONFIDENTIAL_KEYS:
    raise ImproperlyConfigured(
        "CONFIDENTIAL_KEYS must hold at least one Fernet key when DJANGO_DEBUG=False "
        "(python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )

# --- Applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "guardian",
    "django_htmx",
    "csp",
    "accounts",
    "notify",
    "mentoring",
    "matching",
    "sessions_log",
    "surveys",
    "dashboards",
    "privacy",
    "roster",
    "console",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Deny by default: every view needs a signed-in person unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "accounts.context_processors.signup",
                "accounts.context_processors.session_timeout",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
# PostgreSQL only, everywhere: the dashboards' SQL, the GiST exclusion constraint and the access
# log's statement triggers need it. Without DATABASE_URL the demo's embedded server is meant:
# `bin/demo` (what `make run` calls) starts it with its data and socket in var/pgdata and sets
# DATABASE_URL for what it runs; this default lets a command typed by hand beside a running demo
# (`manage.py demo_totp EMAIL`) reach the same server.
DEMO_PGDATA = VAR_DIR / "pgdata"
if not DEBUG and not env_str("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL must name the site's PostgreSQL server when DJANGO_DEBUG=False "
        "(postgres://user:password@host:5432/name); the embedded one is for the demo only."
    )
DATABASE_URL = env_str("DATABASE_URL", f"postgres://postgres@/mentoring?host={DEMO_PGDATA}")


def _postgresql_only(url: str) -> dict:
    """The connection settings of `url`, refused (naming what was given, password hidden)
    unless it names a PostgreSQL server."""
    try:
        config = dj_database_url.parse(
            url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    except (ValueError, dj_database_url.UnknownSchemeError):
        config = {}
    if config.get("ENGINE") != "django.db.backends.postgresql":
        parts = dj_database_url.urlparse.urlsplit(url)
        shown = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
        raise ImproperlyConfigured(
            f"DATABASE_URL must name a PostgreSQL server (postgres://...); it is "
            f"{dj_database_url.urlparse.urlunsplit(shown)!r}. This product runs on PostgreSQL "
            "only: unset DATABASE_URL for the demo's embedded server (make run)."
        )
    return config


DATABASES = {"default": _postgresql_only(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and cache ------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Sign-in security state (used TOTP codes, failed sign-ins) is kept in the
            # database; the rest falls back to process memory while Redis is down or hung
            # (mentoring/cache.py). A hung Redis costs one 0.5 s timeout per process per 30 s.
            "BACKEND": "mentoring.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,  # longer than any task's hard time limit
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Every folder of the filesystem transport under var/ (its exchange table, `control`,
    # would otherwise land in the working directory).
    broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
    }

# --- Celery (namespace CELERY_, read by config/celery.py) -----------------------------------
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged after it ran, so a dead worker loses none
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ...and a killed worker's task goes back to the queue
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a worker holds one task at a time
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_IGNORE_RESULT = True  # tasks record their outcome in the database, not a result store
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # Proves worker and beat are wired; /healthz shows the last beat.
    "heartbeat": {"task": "mentoring.tasks.heartbeat", "schedule": timedelta(seconds=60)},
    # Expired sign-in security entries (used codes, rate-limit histories) leave the database.
    "purge-security-state": {
        "task": "accounts.tasks.purge_security_state",
        "schedule": timedelta(minutes=10),
    },
    # Old uploads stop holding personal data.
    "expire-import-batches": {
        "task": "roster.tasks.expire_import_batches",
        "schedule": timedelta(hours=24),
    },
    # Self-match requests never hang: unanswered ones expire and the learner is told.
    "expire-match-requests": {
        "task": "matching.tasks.expire_match_requests",
        "schedule": timedelta(minutes=15),
    },
    # A match run whose worker died is marked failed; a lost run or approval is queued again.
    "recover-match-runs": {
        "task": "matching.tasks.recover_match_runs",
        "schedule": timedelta(minutes=5),
    },
    # Weekly availability patterns become concrete slots MEETING_SLOT_WEEKS ahead.
    "expand-availability": {
        "task": "sessions_log.tasks.expand_availability",
        "schedule": timedelta(hours=1),
    },
    # Reminders and "log this meeting" nudges found in the database, claimed, sent once (R11).
    "dispatch-reminders": {
        "task": "sessions_log.tasks.dispatch_reminders",
        "schedule": timedelta(minutes=1),
    },
    # The one outbox (R11): claims of every kind left unsent (a worker killed mid-send, a
    # task lost while the broker was down) are sent again, each table after its own delay.
    "sweep-outbox": {
        "task": "notify.tasks.sweep",
        "schedule": timedelta(minutes=1),
    },
    "send-nudge-digests": {
        "task": "sessions_log.tasks.send_nudge_digests",
        "schedule": timedelta(days=7),
    },
    # Confidential notes whose retention period is over are erased (R4).
    "erase-expired-notes": {
        "task": "mentoring.tasks.erase_expired_notes",
        "schedule": timedelta(hours=24),
    },
    # One reminder per person when a mentoring agreement is not done in time (R11).
    "remind-agreements": {
        "task": "mentoring.tasks.send_agreement_reminders",
        "schedule": timedelta(hours=1),
    },
    # Survey campaigns: open when due, invite, remind non-responders, close (R11).
    "run-survey-campaigns": {
        "task": "surveys.tasks.run_campaigns",
        "schedule": timedelta(minutes=5),
    },
    # Dashboard figures: summary tables recomputed with their suppression (pages say how
    # fresh). A run that finds another still running skips (advisory lock).
    "refresh-dashboard-summaries": {
        "task": "dashboards.tasks.refresh_summaries",
        "schedule": timedelta(minutes=30),
    },
}

# --- Meetings ----------------------------------------------------------------------------------
MEETING_SLOT_WEEKS = env_int("MEETING_SLOT_WEEKS", 8)  # weeks of slots expanded ahead
MEETING_REMINDER_HOURS = [
    int(h) for h in os.environ.get("MEETING_REMINDER_HOURS", "24,1").split(",") if h.strip()
]
MEETING_LOG_NUDGE_HOURS = env_int("MEETING_LOG_NUDGE_HOURS", 2)  # after the meeting ends

# --- Surveys -----------------------------------------------------------------------------------
# R6: the smallest group any survey figure is shown for (and its complement hidden with it).
SURVEY_MIN_CELL = env_int("SURVEY_MIN_CELL", 5)
if SURVEY_MIN_CELL < 2:
    raise ImproperlyConfigured("SURVEY_MIN_CELL must be at least 2.")

# --- Accounts and sign-in ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_SESSION_REMEMBER = False  # no "remember me": the session lifetime rules below apply
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# The invitation's link is allauth's password-reset link: choosing the password signs the
# person in, and they go on to set up two-factor authentication without being asked for the
# password they have just chosen (accounts.adapters.AccountAdapter.is_reauthentication_required).
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_FORMS = {"reset_password_from_key": "accounts.forms.PasswordChooseForm"}
# How long after signing in a person may set up their first authenticator (and see its
# recovery codes) without typing their password again: time to install an app and scan.
MFA_SETUP_AFTER_SIGN_IN = timedelta(minutes=15)
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Mentoring] "
# Accounts come from administrators; open sign-up stays off unless a school turns it on.
ACCOUNT_ALLOW_SIGNUP = env_bool("ACCOUNT_ALLOW_SIGNUP", False)
# Sign-in throttles (allauth). Per account, from any address: 5 failed sign-ins (password or
# authenticator code) per 5 minutes, then even the right password is refused until they age
# out. Per client address and minute: a whole lecture hall behind one NAT signs in at the start
# of a session, so the attempts allowed are many (allauth's default, 30, refused the 31st
# student); failed ones are fewer, which bounds password spraying from one address (and the
# Argon2 work it costs: a refused attempt is turned away before any password is hashed).
SIGN_IN_ATTEMPTS_PER_ADDRESS = env_int("SIGN_IN_ATTEMPTS_PER_ADDRESS", 400)
SIGN_IN_FAILURES_PER_ADDRESS = env_int("SIGN_IN_FAILURES_PER_ADDRESS", 60)
SIGN_IN_FAILURES_PER_ACCOUNT = 5
ACCOUNT_RATE_LIMITS = {
    "login": f"{SIGN_IN_ATTEMPTS_PER_ADDRESS}/m/ip",
    "login_failed": (
        f"{SIGN_IN_FAILURES_PER_ADDRESS}/m/ip,{SIGN_IN_FAILURES_PER_ACCOUNT}/300s/key"
    ),
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "mentoring.authenticators.MFAAdapter"  # secrets encrypted at rest (R4)
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Mentoring")
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None  # no guardian anonymous user row: outsiders have no grants

# Session: database-backed so people stay signed in if Redis is down; a 30-minute idle
# timeout and a 12-hour absolute lifetime (accounts.middleware.SessionLifetimeMiddleware).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("SESSION_ABSOLUTE_TIMEOUT_HOURS", 12))
# Signed-in pages warn this long before the idle sign-out, with a "Stay signed in" button
# (WCAG 2.2.1 Timing Adjustable; static/js/session.js, accounts.views.session_keep_alive).
SESSION_IDLE_WARNING = timedelta(minutes=env_int("SESSION_IDLE_WARNING_MINUTES", 2))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security headers --------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    # The health probe is called over plain HTTP inside the deployment's network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if BEHIND_TLS_PROXY:
        # Only when a trusted proxy sets this header and strips it from clients.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # allauth shows the TOTP QR code as an SVG data URI.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
    },
}

# The address people use to reach the site, for links in emails (invitations, reminders).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Email -------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Mentoring <mentoring@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Operator", addr) for addr in env_list("DJANGO_ADMINS")]

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or VAR_DIR / "static")
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Logging -----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # SECURITY: request bodies are never logged; 4xx noise stays at WARNING.
        "django.request": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}

# --- Demo --------------------------------------------------------------------------------------
# The demo command prints known passwords; it refuses to run when DEBUG is off unless the
# operator says so explicitly (a staging site).
DEMO_ALLOWED = env_bool("DEMO_ALLOWED", DEBUG)
