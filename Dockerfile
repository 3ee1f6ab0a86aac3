# The one image web, worker and beat run from (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 1000 app

COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .

COPY . .
# collectstatic needs settings that load; these values exist only for this build step.
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    DJANGO_ALLOWED_HOSTS=build python manage.py collectstatic --no-input \
 && mkdir -p /app/var && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "mentoring.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
