"""A plain `migrate` gives a working shop without Redis: the database cache table comes with it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_plain_migrate_creates_the_cache_table(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}", "DEBUG": "0",
                "SECRET_KEY": "ops-test-" + "k" * 60, "DJANGO_SETTINGS_MODULE": "config.settings"})
    run = dict(cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
    assert migrated.returncode == 0, migrated.stderr
    # What a login does first with the cache (the throttle and lockout counters): set and read a key.
    used = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                           "from django.core.cache import cache; cache.set('k', 41); print(cache.get('k') + 1)"],
                          **run)
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().splitlines()[-1] == "42"
