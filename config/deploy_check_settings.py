"""Production-like settings for `manage.py check --deploy` in CI: DEBUG off, a real secret key."""

import os

os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "ci-only-" + "x" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "pos.example.com")
os.environ.setdefault("C2B_URL_TOKEN", "ci0only0" + "c2b0token0" * 4)

from config.settings import *  # noqa: E402,F403
