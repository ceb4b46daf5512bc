"""Production-like settings for `manage.py check --deploy` in CI: DEBUG off, a real secret key."""

import os

os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "ci-only-" + "x" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "pos.example.com")

from config.settings import *  # noqa: E402,F403
