"""Each pytest-xdist worker gets a Redis database of its own (loaded with -p, before Django's
settings read REDIS_URL).

The tests empty the cache with FLUSHDB before each test and keep per-person entries in it, so
two workers sharing one Redis database would wipe and read each other's state. Worker gwN
uses REDIS_URL's database number plus N; the test database is suffixed per worker by
pytest-django already. Without xdist this does nothing.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    _url = urlsplit(os.environ["REDIS_URL"])
    _number = int(_url.path.strip("/") or 0) + int(_worker[2:])
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_number}"))
