"""Checkout throughput: the till's one-request cash checkout of 5-line sales, per second, against pgbench
TPC-B on the same server at the same concurrency, in the same run.

- service level: pos.sales.services.checkout with a cash tender (the sale confirmed, its stock posted
  and its cash taken in one transaction), as the API calls it;
- HTTP: POST /api/sales/sales/?receipt=1 with `payments` (the till's request, with its token and X-Till
  header: its own receipt series), on gunicorn with 2 workers and the production settings;
- 1 and 8 clients, each client a separate PROCESS (multiprocessing: the database is measured, not the
  GIL), each a cashier with their own shift and till;
- queries per checkout for 1, 5 and 50 lines, at the service level and for the whole HTTP request.

    python bench/bench_checkout.py [--seconds 10]
"""

import argparse
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PGBENCH_DB, check_books_or_fail, gunicorn, save, setup_django, table  # noqa: E402

LINES = 5
CLIENTS = (1, 8)


def cashiers(n):
    """n cashiers, each with an open shift, an API token and a registered till: [(user, token, till id)]."""
    from rest_framework.authtoken.models import Token

    from pos.accounts.models import User
    from pos.accounts.services import create_user
    from pos.sales.models import Shift
    from pos.tills.services import register_till

    users = []
    for i in range(n):
        name = f"bench-till-{i}"
        user = User.objects.filter(username=name).first() or create_user(username=name, password="bench-pass-2026!",
                                                                          role="cashier")
        if not Shift.objects.filter(cashier=user, status="open").exists():
            Shift.objects.create(cashier=user, opening_float=Decimal("0"))
        device = uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.bench.duka")
        till = register_till(str(device), user=user, name=name)
        users.append((user, Token.objects.get_or_create(user=user)[0].key, str(till.device_id), till.online_prefix))
    return users


def product_ids():
    from pos.catalog.models import Product

    return list(Product.objects.filter(is_active=True, stock_quantity__gt=1000).values_list("id", flat=True)[:20000])


def one_checkout(user, prefix, ids, rng, lines=LINES):
    """A paid cash sale through the service the API calls (what the till's one request does)."""
    from pos.sales.services import LineRequest, Tender, checkout

    items = [LineRequest(Decimal(1), product=pid) for pid in rng.sample(ids, lines)]
    sale, _, results = checkout(cashier=user, items=items, tenders=[Tender("cash")], receipt_prefix=prefix,
                                idempotency_key=str(uuid.uuid4()))
    if sale.status != "paid" or results[0].error:
        raise RuntimeError(f"sale {sale.receipt_number} is {sale.status}: {results[0].error}")


def http_session(token, till):
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Token {token}", "X-Till": till})
    return session


def http_checkout(session, base, ids, rng):
    body = {"items": [{"product": pid, "quantity": "1"} for pid in rng.sample(ids, LINES)],
            "payments": [{"method": "cash", "amount_tendered": "100000"}]}
    answer = session.post(f"{base}/api/sales/sales/?receipt=1", json=body, timeout=30,
                          headers={"Idempotency-Key": str(uuid.uuid4())})
    if answer.status_code != 201 or answer.json()["status"] != "paid":
        raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")


def _client(i, level, base, user, ids, barrier, seconds, out):
    """One client process: a warm-up sale (its connection opened), then sales until the time is up."""
    from django.db import connections

    connections.close_all()  # never the parent's socket
    rng = random.Random(i)
    if level == "service":
        work = lambda: one_checkout(user[0], user[3], ids, rng)  # noqa: E731
    else:
        session = http_session(user[1], user[2])
        work = lambda: http_checkout(session, base, ids, rng)  # noqa: E731
    done = errors = 0
    first_error = ""
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - reported with the counts
        first_error = repr(exc)
    barrier.wait()
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        try:
            work()
            done += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported, the benchmark goes on
            errors += 1
            first_error = first_error or repr(exc)
    out.put((done, errors, first_error))
    connections.close_all()


def run_clients(level, n, seconds, users, ids, base=None):
    """Sales per second of n client processes, each its own cashier, till and connection."""
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(n + 1), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(i, level, base, users[i], ids, barrier, seconds, out))
             for i in range(n)]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.monotonic()
    results = [out.get() for _ in procs]
    took = time.monotonic() - started
    for p in procs:
        p.join()
    done, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    for message in {r[2] for r in results if r[2]}:
        print(f"  {level}, {n} client(s): {message}")
    return {"level": level, "clients": n, "sales_per_s": round(done / took, 1), "sales": done, "errors": errors}


@contextmanager
def counted():
    """The statements this thread sends to the database in the block (BEGIN/COMMIT are not statements
    on PostgreSQL: psycopg sends them)."""
    from django.db import connection

    sent = []

    def count(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield sent


def queries_per_checkout(user, ids):
    """Queries of one checkout at the service level and of the whole HTTP request (in process, the same
    settings; the till's token and permissions come from the catalogue cache after its first request)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user[1]}", HTTP_X_TILL=user[2])
    rows = []
    for lines in (1, 5, 50):
        rng = random.Random(lines)
        with counted() as service:
            one_checkout(user[0], user[3], ids, rng, lines=lines)
        body = {"items": [{"product": pid, "quantity": "1"} for pid in rng.sample(ids, lines)],
                "payments": [{"method": "cash", "amount_tendered": "1000000"}]}
        client.post("/api/sales/sales/?receipt=1", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        with counted() as http:
            answer = client.post("/api/sales/sales/?receipt=1", body, format="json",
                                 HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert answer.status_code == 201 and answer.json()["status"] == "paid", answer.content[:300]
        rows.append({"lines": lines, "service": len(service), "http": len(http)})
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    setup_django()
    users = cashiers(max(CLIENTS))
    ids = product_ids()
    load = os.getloadavg()
    rows, baseline = [], {}
    for clients in CLIENTS:
        baseline[clients] = pgbench(clients, args.seconds)
        rows.append({"level": "pgbench TPC-B (baseline)", "clients": clients, "sales_per_s": baseline[clients]})
        service = run_clients("service", clients, args.seconds, users, ids)
        rows.append({**service, "ratio_vs_pgbench": round(service["sales_per_s"] / baseline[clients], 4)})
    with gunicorn(workers=2) as base:
        for clients in CLIENTS:
            result = run_clients("HTTP", clients, args.seconds, users, ids, base=base)
            rows.append({**result, "ratio_vs_pgbench": round(result["sales_per_s"] / baseline[clients], 4)})
    table(f"Paid {LINES}-line cash sales per second, one request each (pgbench row: its tps); clients are processes",
          rows, ["level", "clients", "sales_per_s", "sales", "errors", "ratio_vs_pgbench"])
    queries = queries_per_checkout(users[0], ids)
    table("Queries per paid cash sale (service: the checkout service; http: the whole request, ?receipt=1)",
          queries, ["lines", "service", "http"])
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, now: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    problems = check_books_or_fail()
    save("checkout", {"seconds": args.seconds, "load_average": load, "rows": rows, "queries": queries,
                      "check_books_problems": len(problems)})
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
