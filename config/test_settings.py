"""Settings for the test run: read before config.settings so its environment-driven values apply."""

import os

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
# django-q2 reads `sync` once at import: tasks run inline unless a test starts a real qcluster.
os.environ.setdefault("Q_SYNC", "1")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = []
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"login": "1000/min", "webhook": "1000/min", "anon": "1000/min"}  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: a real qcluster process or a live server thread must see the test data.
    # One file per test run, so parallel runs never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
