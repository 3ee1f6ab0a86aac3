"""Run every benchmark against a scratch PostgreSQL database (created and dropped here)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main(selected: list[str]) -> int:
    import django
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    django.setup()
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        import benchmarks

        names = sorted(
            info.name
            for info in pkgutil.iter_modules(benchmarks.__path__)
            if info.name.startswith("bench_")
        )
        for name in names:
            if selected and not any(s in name for s in selected):
                continue
            module = importlib.import_module(f"benchmarks.{name}")
            print(f"== {name}: {module.__doc__.strip().splitlines()[0]}")
            module.run()
            print()
    finally:
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
