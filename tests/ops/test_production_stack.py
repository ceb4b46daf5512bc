"""The production stack as README's production section runs it: `migrate` on a fresh PostgreSQL
database, gunicorn, `qcluster`, Redis as cache and task broker (REDIS_URL), DEBUG=0, no
`createcachetable`. A cashier logs in, sells, takes an M-Pesa payment whose callback comes back through
gunicorn, and a background export runs in the qcluster through the Redis broker.

It needs the PostgreSQL server of the test run (DATABASE_URL=postgres://...) and Redis at
127.0.0.1:6379 (`OPS_REDIS_URL` to change; CI starts both)."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.qcluster import stop

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_URL = os.environ.get("OPS_REDIS_URL", "redis://127.0.0.1:6379/4")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"needs Redis at {REDIS_URL} (redis-server; CI starts it)")
    return client


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def fresh_database(needs_postgres):
    import psycopg

    s = connection.settings_dict
    name = f"pos_ops_{os.getpid()}"
    dsn = dict(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"] or "postgres",
               password=s["PASSWORD"] or None, dbname="postgres", autocommit=True)
    with psycopg.connect(**dsn) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    yield f"postgres://{dsn['user']}{password}@{dsn['host']}:{dsn['port']}/{name}"
    with psycopg.connect(**dsn) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def production(fresh_database):
    redis_client = _redis_or_skip()
    redis_client.flushdb()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items()
           if key not in {"TESTING", "Q_SYNC", "DJANGO_SETTINGS_MODULE", "DEBUG", "SANDBOX_ENABLED"}}
    env.update({
        "DEBUG": "0", "SECRET_KEY": "ops-test-" + "k" * 60, "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": fresh_database, "REDIS_URL": REDIS_URL, "PUBLIC_BASE_URL": base,
        "DJANGO_SETTINGS_MODULE": "config.settings", "Q_WORKERS": "1",
        # The TLS proxy is left out: the test speaks plain HTTP to gunicorn on loopback. The payment
        # sandbox stands in for M-Pesa (README: off in production unless SANDBOX_ENABLED=1).
        "SECURE_SSL_REDIRECT": "0", "SANDBOX_ENABLED": "1", "SANDBOX_BASE_URL": f"{base}/sandbox",
        "SANDBOX_CALLBACK_DELAY": "0.5", "PAYMENT_VERIFY_AFTER_SECONDS": "2", "MEDIA_ROOT": str(ROOT / "media"),
    })
    run = dict(cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    for command in (["migrate", "--noinput"], ["load_demo"], ["ensure_schedules"]):
        done = subprocess.run([sys.executable, "manage.py", *command], **run)
        assert done.returncode == 0, done.stdout + done.stderr
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    procs = []
    with contextlib.ExitStack() as stack:
        for name, argv in [("gunicorn", [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-w", "2",
                                         "-b", f"127.0.0.1:{port}", "--timeout", "60"]),
                           ("qcluster", [sys.executable, "manage.py", "qcluster"])]:
            log = stack.enter_context(open(artifacts / f"ops-{name}.log", "w"))
            procs.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        try:
            _wait(lambda: _up(base), 60, "gunicorn")
            yield base, redis_client
        finally:
            for proc in procs:
                stop(proc, timeout=20)
            redis_client.flushdb()


def _up(base):
    try:
        return requests.get(f"{base}/api/auth/me/", timeout=5).status_code in (401, 403)
    except requests.RequestException:  # not listening yet, or still starting (a slow, shared machine)
        return False


def login(base, username, password):
    answer = requests.post(f"{base}/api/auth/login/", json={"username": username, "password": password}, timeout=10)
    assert answer.status_code == 200, answer.text
    session = requests.Session()
    session.headers["Authorization"] = f"Token {answer.json()['token']}"
    return session


@pytest.mark.postgres
@pytest.mark.qcluster
def test_readme_production_stack_sells_takes_a_callback_and_runs_a_task(production):
    base, redis_client = production
    cashier = login(base, "cashier", "cashier-demo-2026")
    assert cashier.get(f"{base}/api/auth/me/", timeout=10).json()["username"] == "cashier"
    assert cashier.post(f"{base}/api/sales/shifts/open/", json={"opening_float": "1000.00"},
                        timeout=10).status_code == 201
    sale = cashier.post(f"{base}/api/sales/sales/", json={"items": [{"barcode": "6161010000016", "quantity": "2"}]},
                        timeout=10)
    assert sale.status_code == 201, sale.text
    sale = sale.json()
    assert sale["total"] == "160.00" and sale["status"] == "pending_payment"

    payment = cashier.post(f"{base}/api/payments/payments/initiate/",
                           json={"sale": sale["id"], "method": "mpesa", "amount": "160.00",
                                 "phone_number": "0708374149"}, timeout=20)
    assert payment.status_code in (200, 201, 202), payment.text
    payment_id = payment.json()["id"]
    # The sandbox calls our webhook back through gunicorn; the payment completes and the sale is paid.
    done = _wait(lambda: cashier.get(f"{base}/api/payments/payments/{payment_id}/", timeout=10).json()["status"]
                 == "completed" or None, 60, "the M-Pesa callback")
    assert done
    assert cashier.get(f"{base}/api/sales/sales/{sale['id']}/", timeout=10).json()["status"] == "paid"

    bookkeeper = login(base, "bookkeeper", "bookkeeper-demo-2026")
    job = bookkeeper.post(f"{base}/api/reports/sales-lines/export/jobs/", json={"period": "today", "format": "csv"},
                          timeout=10)
    assert job.status_code in (201, 202), job.text
    status_url = f"{base}/api/reports/sales-lines/export/jobs/{job.json()['id']}/"
    finished = _wait(lambda: (lambda j: j if j["status"] in ("done", "failed") else None)(
        bookkeeper.get(status_url, timeout=10).json()), 90, "the export task in qcluster")
    assert finished["status"] == "done" and finished["rows"] == 1, finished
    # Redis really is the cache and the broker: login throttling and django-q2 keys live there.
    keys = [key.decode() for key in redis_client.keys("*")]
    assert any("throttle" in key or "axes" in key for key in keys), keys
    assert any(key.startswith("django_q") or ":pos:" in key or key.startswith("pos") for key in keys), keys
