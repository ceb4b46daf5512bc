"""Shared pieces of the benchmarks: the database, Django setup, gunicorn, wrk, result files."""

import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# Every name and port the benchmarks use is configurable, so several people (or CI jobs) can run them on
# one machine: BENCH_DATABASE_URL (the shop's data), BENCH_PORT (gunicorn), PGBENCH_DB (pgbench's own
# database, dropped and recreated by each run). bench/run.py also takes them as --db/--port/--pgbench-db.
DEFAULT_DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pos_bench")
BENCH_PORT = int(os.environ.get("BENCH_PORT", "8099"))
PGBENCH_DB = os.environ.get("PGBENCH_DB", "pos_pgbench")
# Production runs with Redis (README): the shared cache the catalogue cache and the token cache use.
# BENCH_REDIS_URL=none benchmarks the shop without it.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def setup_django():
    """Point Django at the benchmark database (PostgreSQL) with the benchmark settings."""
    os.environ["DATABASE_URL"] = DEFAULT_DB
    if BENCH_REDIS_URL != "none":
        os.environ["REDIS_URL"] = BENCH_REDIS_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_database():
    """Create the benchmark database if it does not exist, and migrate it."""
    import psycopg

    url = DEFAULT_DB
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    run([sys.executable, "manage.py", "migrate", "-v0"])
    run([sys.executable, "manage.py", "createcachetable"])


def run(cmd, **kwargs):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": DEFAULT_DB, **_redis_env()}
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, **kwargs)


def _redis_env():
    return {} if BENCH_REDIS_URL == "none" else {"REDIS_URL": BENCH_REDIS_URL}


def need_tool(name, package=None):
    """Install a Debian package when its tool is missing (wrk); the benchmarks are not part of CI."""
    if shutil.which(name):
        return
    subprocess.run(["apt-get", "install", "-y", "-qq", package or name], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)


@contextmanager
def gunicorn(port=None, workers=2, threads=1, extra_env=None):
    """Serve the shop with gunicorn (the production server) on loopback until the block ends. The
    settings are production's (DEBUG off, so its connection and cache defaults): nothing is forced here
    beyond what `extra_env` asks for."""
    port = port or BENCH_PORT
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": DEFAULT_DB, **_redis_env(),
           **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/bench/bare/", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def wrk(url, *, seconds=10, connections=16, threads=2, script=None, env=None):
    """Run wrk and return requests/s, p50 and p99 latency in ms, and the error count."""
    need_tool("wrk")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "non_2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)) else 0,
        "errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
    }


def _ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 3)


def table(title, rows, columns):
    """Print rows (dicts) as an aligned table."""
    print(f"\n{title}")
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(columns, widths)))


def _fmt(value):
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def save(name, data):
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version()}, **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"-> {path.relative_to(ROOT)}")
    return path


def check_books_or_fail():
    from pos.core.books import check_books

    problems = check_books()
    print(f"check_books: {'consistent' if not problems else f'{len(problems)} problem(s)'}")
    for p in problems[:20]:
        print("  ", p)
    return problems
