# The one image web, worker and beat run from (docker-compose.yml). CI runs its build steps in
# a fresh virtual environment and serves a page from the result (bin/check-image); steps that
# only make sense inside an image are marked "image-only" for it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_VAR_DIR=/app/var

WORKDIR /app
# image-only: the unprivileged user the processes run as.
RUN useradd --create-home --uid 1000 app

COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .

COPY . .
# collectstatic needs settings that load in production mode; these values exist only for this
# step (a throwaway key: nothing is encrypted while building; no database is opened).
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    DJANGO_ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost:5432/build \
    CONFIDENTIAL_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --no-input
# image-only: the app user owns the var directory.
RUN mkdir -p /app/var && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
