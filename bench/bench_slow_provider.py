"""A till is never blocked by a slow provider.

The shop runs under gunicorn (2 workers) with a real django-q2 worker; the provider (the sandbox, as
`manage.py run_sandbox` on a free loopback port) runs apart, as a real provider does. Baseline:
checkout requests over HTTP (POST /api/sales/sales/ then pay_cash) with nothing else going on.
Loaded: 8 M-Pesa pushes to the sandbox's slow-query number (254700000014: every STK Query answers
after 14 s), whose 8 success callbacks arrive at our webhook while the same checkout
requests are measured. The webhooks store and answer at once; the 14-second confirmations run in
the task worker, not on the web workers the tills wait on.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos_payfaults python bench/bench_slow_provider.py
    [--port 8101] [--requests 30] [--slow 14]

Prints the checkout latency (median, p95, max) for both runs and their ratio, the webhook answer
times, and whether the 8 payments completed with their receipts once the slow queries answered.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    check_books_or_fail,
    create_database,
    gunicorn,
    save,
    setup_django,
    table,
)

PHONE_SLOW_QUERY = "0700000014"


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(n_products=20):
    from rest_framework.authtoken.models import Token

    from pos.accounts.models import User
    from pos.accounts.services import create_user
    from pos.catalog.models import Product
    from pos.inventory.services import adjust_stock
    from pos.sales.models import Shift
    from tests.factories import ProductFactory

    user = User.objects.filter(username="bench-slow-till").first() or create_user(
        username="bench-slow-till", password="bench-pass-2026!", role="cashier")
    manager = User.objects.filter(username="bench-slow-mgr").first() or create_user(
        username="bench-slow-mgr", password="bench-pass-2026!", role="manager")
    if not Shift.objects.filter(cashier=user, status="open").exists():
        Shift.objects.create(cashier=user, opening_float=Decimal(0))
    products = list(Product.objects.filter(sku__startswith="SLOW-").values_list("pk", flat=True))
    for i in range(len(products), n_products):
        product = ProductFactory(sku=f"SLOW-{i:04d}", price=Decimal(100 + i), cost_price=Decimal(50))
        adjust_stock(product, Decimal(100000), user=manager, reason="bench")
        products.append(product.pk)
    return Token.objects.get_or_create(user=user)[0].key, products


def checkout(session, base, token, product, amount=None):
    """One till checkout over HTTP: create the sale, take cash. Returns seconds."""
    started = time.perf_counter()
    headers = {"Authorization": f"Token {token}"}
    sale = session.post(f"{base}/api/sales/sales/", json={"items": [{"product": product, "quantity": "1"}]},
                        headers=headers, timeout=60)
    sale.raise_for_status()
    data = sale.json()
    paid = session.post(f"{base}/api/sales/sales/{data['id']}/pay_cash/", json={"amount_tendered": data["total"]},
                        headers=headers, timeout=60)
    paid.raise_for_status()
    return time.perf_counter() - started


def measure(base, token, products, n):
    import requests

    session = requests.Session()
    times = [checkout(session, base, token, products[i % len(products)]) for i in range(n)]
    times.sort()
    return {"median_ms": statistics.median(times) * 1000, "p95_ms": times[int(len(times) * 0.95) - 1] * 1000,
            "max_ms": times[-1] * 1000, "n": n}


def start_pushes(base, token, products, count):
    """8 sales paid by M-Pesa on the slow-query number (different amounts: Daraja refuses the same
    amount to one phone within 2 minutes)."""
    import requests

    session, payments = requests.Session(), []
    headers = {"Authorization": f"Token {token}"}
    for i in range(count):
        sale = session.post(f"{base}/api/sales/sales/", json={"items": [{"product": products[i], "quantity": "1"}]},
                            headers=headers, timeout=60).json()
        started = time.perf_counter()
        answer = session.post(f"{base}/api/payments/payments/initiate/", headers=headers, timeout=60, json={
            "sale": sale["id"], "method": "mpesa", "amount": sale["total"], "phone_number": PHONE_SLOW_QUERY})
        answer.raise_for_status()
        payments.append((answer.json()["id"], time.perf_counter() - started))
    return payments


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--slow", type=float, default=14.0)
    parser.add_argument("--callbacks", type=int, default=8)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    provider_port = free_port()
    os.environ.update({
        "SANDBOX_ENABLED": "1", "SANDBOX_BASE_URL": f"http://127.0.0.1:{provider_port}/sandbox", "PUBLIC_BASE_URL": base,
        "SANDBOX_SLOW_SECONDS": str(args.slow), "SANDBOX_CALLBACK_DELAY": "1", "PAYMENT_HTTP_TIMEOUT": "30",
        "MPESA_CONSUMER_KEY": "", "MPESA_CONSUMER_SECRET": "", "PAYMENT_VERIFY_AFTER_SECONDS": "120",
        "Q_WORKERS": "2", "Q_SYNC": "0",
    })
    setup_django()
    create_database()
    token, products = prepare()
    from pos.payments.models import Payment, PaymentCallback

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    root = Path(__file__).resolve().parent.parent
    worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    provider = subprocess.Popen([sys.executable, "manage.py", "run_sandbox", "--port", str(provider_port)], cwd=root,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(2)
    try:
        with gunicorn(port=args.port, workers=2, threads=1) as url:
            measure(url, token, products, 5)  # warm up
            baseline = measure(url, token, products, args.requests)
            since = time.time()
            pushes = start_pushes(url, token, products, args.callbacks)
            ids = [pk for pk, _ in pushes]
            # The callbacks arrive ~1 s later; measure while their confirmations (14 s queries) are pending.
            deadline = time.monotonic() + 10
            while PaymentCallback.objects.filter(payment_id__in=ids).count() < args.callbacks \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            arrived = PaymentCallback.objects.filter(payment_id__in=ids).count()
            loaded = measure(url, token, products, args.requests)
            waited = 0.0
            while Payment.objects.filter(pk__in=ids, status="completed").count() < len(ids) and waited < 180:
                time.sleep(1)
                waited += 1
            completed = Payment.objects.filter(pk__in=ids, status="completed").exclude(receipt="").count()
    finally:
        for proc in (worker, provider):
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)
    rows = [{"run": "baseline (idle provider)", **baseline},
            {"run": f"{arrived} callbacks, query {args.slow:.0f} s", **loaded}]
    table("Checkout over HTTP (create sale + pay cash), ms", rows, ["run", "n", "median_ms", "p95_ms", "max_ms"])
    ratio = loaded["median_ms"] / baseline["median_ms"]
    push_ms = [t * 1000 for _, t in pushes]
    print(f"\nmedian ratio loaded/baseline: {ratio:.2f}   p95 ratio: {loaded['p95_ms'] / baseline['p95_ms']:.2f}")
    print(f"STK push requests answered in median {statistics.median(push_ms):.0f} ms")
    print(f"payments completed with receipt after the slow queries: {completed}/{len(ids)} "
          f"({time.time() - since:.0f} s after the pushes)")
    problems = check_books_or_fail()
    save("bench_slow_provider", {"baseline": baseline, "loaded": loaded, "ratio_median": ratio,
                                 "callbacks": arrived, "completed": completed, "books_ok": not problems})


if __name__ == "__main__":
    main()
