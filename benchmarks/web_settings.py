"""bench_web's server settings: the product's (production when DJANGO_DEBUG=False), with the
benchmark's URL map, which adds the bare baseline view beside the product's URLs."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.web_urls"
