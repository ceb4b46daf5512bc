"""Start a real django-q2 worker (`manage.py qcluster`) against the test database, for tests that
must prove the background work is picked up by a real process, not only run inline."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _database_url():
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


@contextlib.contextmanager
def running_qcluster(extra_env=None):
    """Run `manage.py qcluster` (not in sync mode) on the test database until the block ends.
    Needs a test marked `django_db(transaction=True)` so the worker sees committed rows."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "Q_SYNC": "0", "Q_WORKERS": "1",
           "DJANGO_SETTINGS_MODULE": "config.test_settings", **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc, timeout=15):
    """Stop a process started in a session of its own (`start_new_session=True`): SIGTERM to the process
    itself, which stops its children (django-q2's cluster stops in under a second; a SIGTERM sent to the
    whole group instead hung it until the timeout), then SIGKILL to whatever is left of the group."""
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_until(predicate, timeout=30.0, interval=0.25):
    """Poll `predicate` until it is truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
