"""Checkout throughput: sales of 5 lines confirmed and paid in cash, per second, at the service level
and over HTTP (gunicorn, 2 workers), with 1 and 8 concurrent clients; queries per checkout for 1, 5
and 50 lines; and pgbench (TPC-B-like) on the same server at the same concurrency as the baseline.

    python bench/bench_checkout.py [--seconds 10]
"""

import argparse
import os
import random
import re
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PGBENCH_DB, check_books_or_fail, gunicorn, save, setup_django, table  # noqa: E402

LINES = 5


def cashiers(n):
    """n cashiers, each with an open shift and an API token."""
    from rest_framework.authtoken.models import Token

    from pos.accounts.models import User
    from pos.accounts.services import create_user
    from pos.sales.models import Shift

    users = []
    for i in range(n):
        name = f"bench-till-{i}"
        user = User.objects.filter(username=name).first() or create_user(username=name, password="bench-pass-2026!",
                                                                          role="cashier")
        if not Shift.objects.filter(cashier=user, status="open").exists():
            Shift.objects.create(cashier=user, opening_float=Decimal("0"))
        users.append((user, Token.objects.get_or_create(user=user)[0].key))
    return users


def product_ids():
    from pos.catalog.models import Product

    return list(Product.objects.filter(is_active=True, stock_quantity__gt=1000).values_list("id", flat=True)[:20000])


def one_checkout(user, ids, rng, lines=LINES):
    from pos.payments.services import pay_cash
    from pos.sales.services import LineRequest, create_sale

    items = [LineRequest(Decimal(1), product=pid) for pid in rng.sample(ids, lines)]
    sale, _ = create_sale(cashier=user, items=items)
    pay_cash(sale, amount_tendered=sale.total, user=user)


def run_clients(n, seconds, work):
    """Run `work(i, rng)` in n threads for `seconds`; returns completed count and errors."""
    from django.db import connection

    done, errors, stop = [0] * n, [0] * n, time.monotonic() + seconds

    def client(i):
        rng = random.Random(i)
        while time.monotonic() < stop:
            try:
                work(i, rng)
                done[i] += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported, the benchmark goes on
                errors[i] += 1
                if errors[i] == 1:
                    print(f"client {i}: {exc!r}")
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), sum(errors), time.monotonic() - started


def service_level(users, ids, clients, seconds):
    count, errors, took = run_clients(clients, seconds, lambda i, rng: one_checkout(users[i][0], ids, rng))
    return {"level": "service", "clients": clients, "sales_per_s": round(count / took, 1), "sales": count,
            "errors": errors}


def http_level(base, users, ids, clients, seconds):
    import requests

    sessions = []
    for _, token in users[:clients]:
        s = requests.Session()
        s.headers["Authorization"] = f"Token {token}"
        sessions.append(s)

    def work(i, rng):
        body = {"items": [{"product": pid, "quantity": "1"} for pid in rng.sample(ids, LINES)]}
        r = sessions[i].post(f"{base}/api/sales/sales/", json=body, timeout=30)
        r.raise_for_status()
        sale = r.json()
        r = sessions[i].post(f"{base}/api/sales/sales/{sale['id']}/pay_cash/",
                             json={"amount_tendered": sale["total"]}, timeout=30)
        r.raise_for_status()

    count, errors, took = run_clients(clients, seconds, work)
    return {"level": "HTTP", "clients": clients, "sales_per_s": round(count / took, 1), "sales": count,
            "errors": errors}


def queries_per_checkout(user, ids):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for lines in (1, 5, 50):
        with CaptureQueriesContext(connection) as ctx:
            one_checkout(user, ids, random.Random(lines), lines=lines)
        rows.append({"lines": lines, "queries": len(ctx.captured_queries)})
    return rows


def pgbench(clients, seconds):
    db = PGBENCH_DB
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGUSER": "postgres"}
    subprocess.run(["psql", "-q", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}", "postgres"],
                   env=env, check=True, capture_output=True)
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", db], env=env, check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), db],
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    setup_django()
    users = cashiers(8)
    ids = product_ids()
    rows = []
    for clients in (1, 8):
        tps = pgbench(clients, args.seconds)
        rows.append({"level": "pgbench TPC-B (baseline)", "clients": clients, "sales_per_s": tps})
        service = service_level(users, ids, clients, args.seconds)
        rows.append({**service, "ratio_vs_pgbench": round(service["sales_per_s"] / tps, 4)})
    with gunicorn(workers=2, threads=4) as base:
        for clients in (1, 8):
            result = http_level(base, users, ids, clients, args.seconds)
            baseline = next(r["sales_per_s"] for r in rows if r["level"].startswith("pgbench") and r["clients"] == clients)
            rows.append({**result, "ratio_vs_pgbench": round(result["sales_per_s"] / baseline, 4)})
    table(f"Checkout of {LINES}-line sales paid in cash (per second; pgbench row = its tps)", rows,
          ["level", "clients", "sales_per_s", "sales", "errors", "ratio_vs_pgbench"])
    queries = queries_per_checkout(users[0][0], ids)
    table("Queries per checkout (confirm + cash payment)", queries, ["lines", "queries"])
    problems = check_books_or_fail()
    save("checkout", {"seconds": args.seconds, "rows": rows, "queries": queries, "check_books_problems": len(problems)})
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
