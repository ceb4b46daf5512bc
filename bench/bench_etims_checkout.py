"""Checkout with KRA eTIMS off and on, in the same run: the till must not wait for KRA.

The same 5-line cash checkouts as bench_checkout.py (its helpers), at the service level and over HTTP
(gunicorn, 2 workers x 4 threads), with 1 and 8 concurrent clients:

1. eTIMS off (the active device's mode is off): the baseline;
2. eTIMS on (demo mode: the OSCU simulator served by the same gunicorn, a real `qcluster` worker signing
   in the background). A paid sale only queues its document after the commit.

Then it waits for the worker to sign everything and reports how many documents were signed, the signing
lag (paid -> signed, p50/p95/max), whether invoice numbers are gap-free, and check_books.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos_etims_bench BENCH_PORT=8103 \\
        python bench/bench_etims_checkout.py [--seconds 10]

The database is seeded with a small catalogue the first time (bench/data.py's generator).
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_checkout import LINES, cashiers, http_level, product_ids, service_level  # noqa: E402
from bench.common import (  # noqa: E402
    BENCH_PORT,
    DEFAULT_DB,
    ROOT,
    _redis_env,
    check_books_or_fail,
    create_database,
    gunicorn,
    save,
    setup_django,
    table,
)

PIN, BRANCH = "P051234567X", "00"


def seed():
    from pos.catalog.models import Product

    if Product.objects.filter(is_active=True, stock_quantity__gt=1000).count() < 100:
        from bench.data import make_catalogue

        make_catalogue(2000)


def set_mode(mode, base):
    """The one active device in `mode`, pointing at the simulator served on `base`."""
    from pos.fiscal.models import Device
    from pos.fiscal.services import forget_active_device, save_device

    device = Device.objects.filter(pin=PIN, branch_id=BRANCH).first() or Device(pin=PIN, branch_id=BRANCH,
                                                                              serial="BENCH-SERIAL")
    device.mode, device.is_active, device.base_url = mode, True, f"{base}/sandbox/etims/"
    save_device(device)
    forget_active_device()
    return device


def fresh_start(device):
    """A clean simulator and a clean eTIMS history on the benchmark database (numbers start at 1 on both sides)."""
    from pos.fiscal import simulator
    from pos.fiscal.models import Call, Counter, Document, FiscalItem, ItemSequence

    simulator.reset()
    Call.objects.all().delete()
    Document.objects.all().delete()
    Counter.objects.all().delete()
    FiscalItem.objects.all().delete()
    ItemSequence.objects.all().delete()
    device.cmc_key_encrypted, device.initialised_at = "", None
    device.save()


def worker_env(base):
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": DEFAULT_DB, **_redis_env(),
            "ETIMS_SIMULATOR_ENABLED": "1", "ETIMS_SIMULATOR_URL": f"{base}/sandbox/etims/", "Q_WORKERS": "1"}


def qcluster(base):
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=worker_env(base),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def measure(label, users, ids, seconds, base):
    rows = []
    for clients in (1, 8):
        rows.append({"etims": label, **service_level(users, ids, clients, seconds)})
        rows.append({"etims": label, **http_level(base, users, ids, clients, seconds)})
    return rows


def drain(device, started, timeout=300):
    """Wait until every document queued since `started` is signed; the signing figures."""
    from pos.fiscal.models import Document, DocumentStatus
    from pos.fiscal.services import process_outbox

    deadline = time.monotonic() + timeout
    documents = Document.objects.filter(device=device, created_at__gte=started)
    while time.monotonic() < deadline and documents.exclude(status=DocumentStatus.SIGNED).exists():
        time.sleep(2)
    left = documents.exclude(status=DocumentStatus.SIGNED).count()
    if left:  # the worker did not finish in time: finish here so the numbers can be checked
        process_outbox(device)
    lags = sorted((d.signed_at - d.sale.paid_at).total_seconds()
                  for d in documents.select_related("sale").filter(status=DocumentStatus.SIGNED, kind="S"))
    numbers = sorted(documents.exclude(invoice_no=None).values_list("invoice_no", flat=True))
    gap_free = numbers == list(range(numbers[0], numbers[0] + len(numbers))) if numbers else True

    def pct(p):
        return round(lags[min(len(lags) - 1, int(p * len(lags)))], 2) if lags else None

    return {"documents": documents.count(), "signed": documents.filter(status=DocumentStatus.SIGNED).count(),
            "left_for_the_worker_at_timeout": left, "lag_p50_s": pct(0.5), "lag_p95_s": pct(0.95),
            "lag_max_s": round(lags[-1], 2) if lags else None, "invoice_numbers_gap_free": gap_free}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    setup_django()
    create_database()
    seed()
    from django.utils import timezone

    users = cashiers(8)
    ids = product_ids()
    base = f"http://127.0.0.1:{BENCH_PORT}"
    extra = {"ETIMS_SIMULATOR_ENABLED": "1", "ETIMS_SIMULATOR_URL": f"{base}/sandbox/etims/"}
    rows = []
    set_mode("off", base)
    with gunicorn(workers=2, threads=4, extra_env=extra):
        rows += measure("off", users, ids, args.seconds, base)
    device = set_mode("demo", base)
    fresh_start(device)
    started = timezone.now()
    with gunicorn(workers=2, threads=4, extra_env=extra):
        worker = qcluster(base)
        try:
            rows += measure("on (demo)", users, ids, args.seconds, base)
            signing = drain(device, started)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
    for row in rows:
        off = next(r for r in rows if r["etims"] == "off" and r["level"] == row["level"]
                   and r["clients"] == row["clients"])
        row["ratio_on_vs_off"] = round(row["sales_per_s"] / off["sales_per_s"], 3) if off["sales_per_s"] else None
    table(f"Checkout of {LINES}-line cash sales, eTIMS off vs on (sales per second)", rows,
          ["etims", "level", "clients", "sales_per_s", "sales", "errors", "ratio_on_vs_off"])
    table("Signing by the background worker (after the load)", [signing], list(signing))
    set_mode("off", base)
    problems = check_books_or_fail()
    save("etims_checkout", {"seconds": args.seconds, "rows": rows, "signing": signing,
                            "check_books_problems": len(problems)})
    sys.exit(1 if problems or not signing["invoice_numbers_gap_free"] else 0)


if __name__ == "__main__":
    main()
