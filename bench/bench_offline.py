"""The offline till: how long 500 offline sales take to sync, and how long the till takes to open with
100,000 products cached in the browser.

1. Sync: 500 sales recorded offline (3 lines, cash or a typed M-Pesa code) sent one after the other, in
   order, as the till's outbox sends them (POST /api/sales/sales/ with client_uuid, gunicorn, PostgreSQL);
   then the same 500 sent again (every answer lost: a retry returns the first result, nothing doubles).
   Baseline in the same run: 500 online checkouts over the same server (create + pay_cash).
2. Page load: headless chromium opens the checkout page with the catalogue cached in IndexedDB
   (100k products, pulled by the cursor endpoint once, timed too) and, as the baseline, with an empty
   catalogue; the ratio shows opening the till does not depend on the catalogue's size. Then a barcode
   lookup and a name search in the cached catalogue, and a refresh after 10 price changes (one request).

    python bench/bench_offline.py [--sales 500] [--products 100000]

Uses BENCH_DATABASE_URL / BENCH_PORT like the other benchmarks (bench/common.py); bench/data.py builds
the catalogue when it has fewer products than asked (with few sale lines: this run stays short).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Playwright's sync API runs an event loop in this thread; the ORM is still used from it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
from bench.common import (  # noqa: E402
    check_books_or_fail,
    create_database,
    gunicorn,
    run,
    save,
    setup_django,
    table,
)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "bench-pass-2026!"


def ensure_data(products):
    from pos.catalog.models import Product

    create_database()
    if Product.objects.count() < products:
        run([sys.executable, "bench/data.py", "--products", str(products), "--lines", "2000"])


def cashier(name):
    from rest_framework.authtoken.models import Token

    from pos.accounts.models import User
    from pos.accounts.services import create_user
    from pos.sales.models import Shift

    user = User.objects.filter(username=name).first() or create_user(username=name, password=PASSWORD, role="cashier")
    shift = Shift.objects.filter(cashier=user, status="open").first() or Shift.objects.create(
        cashier=user, opening_float=Decimal("0"))
    return user, shift, Token.objects.get_or_create(user=user)[0].key


def stocked_products(n=200):
    from pos.catalog.models import Product

    return list(Product.objects.filter(is_active=True, stock_quantity__gt=100)
                .values("id", "price", "tax_rate")[:n])


def offline_bodies(till, shift, products, n):
    """n sales as the outbox sends them: numbers from the till's reserved blocks, the till's prices."""
    from pos.tills import services as tills

    bodies = []
    for i in range(n):
        block = tills.reserve_block(till, user=shift.cashier, size=1)
        lines = [products[(i * 3 + k) % len(products)] for k in range(3)]
        total = sum((p["price"] for p in lines), Decimal("0"))
        payment = ({"method": "cash", "amount": str(total), "amount_tendered": str(total + 50)} if i % 2 else
                   {"method": "mpesa", "amount": str(total), "code": f"BNC{i:07d}"})
        bodies.append({
            "client_uuid": str(uuid.uuid4()), "till": str(till.device_id), "number": block.start,
            "sold_at": "2026-11-26T10:00:00+03:00", "shift": shift.pk, "total": str(total),
            "items": [{"product": p["id"], "quantity": "1", "unit_price": str(p["price"]), "tax_rate": str(p["tax_rate"])}
                      for p in lines],
            "payments": [payment],
        })
    return bodies


def bench_sync(base, n):
    import requests

    from pos.tills import services as tills

    user, shift, token = cashier("bench-offline-till")
    till = tills.register_till(uuid.uuid4(), user=user, name="bench")
    products = stocked_products()
    bodies = offline_bodies(till, shift, products, n)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    rows = []

    started = time.perf_counter()
    for body in bodies:
        answer = session.post(f"{base}/api/sales/sales/", json=body, timeout=30)
        assert answer.status_code == 201, answer.text
    first = time.perf_counter() - started
    rows.append({"what": f"sync {n} offline sales (in order, 1 request each)", "seconds": first,
                 "sales_per_s": n / first})

    started = time.perf_counter()
    for body in bodies:
        answer = session.post(f"{base}/api/sales/sales/", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
    again = time.perf_counter() - started
    rows.append({"what": f"the same {n} again (answers lost: retries)", "seconds": again, "sales_per_s": n / again})

    online_user, _, online_token = cashier("bench-online-till")
    session.headers["Authorization"] = f"Token {online_token}"
    started = time.perf_counter()
    for i in range(n):
        items = [{"product": products[(i * 3 + k) % len(products)]["id"], "quantity": "1"} for k in range(3)]
        sale = session.post(f"{base}/api/sales/sales/", json={"items": items}, timeout=30).json()
        paid = session.post(f"{base}/api/sales/sales/{sale['id']}/pay_cash/", json={"amount_tendered": sale["total"]},
                            timeout=30)
        assert paid.status_code == 200, paid.text
    online = time.perf_counter() - started
    rows.append({"what": f"baseline: {n} online checkouts (create + pay_cash)", "seconds": online,
                 "sales_per_s": n / online})
    from pos.tills.models import OfflineSale

    assert OfflineSale.objects.filter(till=till).count() == n
    return rows, {"ratio_sync_to_online": online / first}


def bench_page(base, products):
    from playwright.sync_api import sync_playwright

    from pos.catalog.models import Product

    cashier("bench-offline-page")
    rows = []
    profile_full = tempfile.mkdtemp(prefix="till-full-")
    profile_empty = tempfile.mkdtemp(prefix="till-empty-")
    ready = ("() => { const s = window.dukaTill && window.dukaTill.state; "
             "return s && s.ready && document.querySelector('#offline-till')._x_dataStack; }")
    try:
        with sync_playwright() as p:
            def open_profile(path, block_catalogue=False):
                context = p.chromium.launch_persistent_context(
                    path, executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
                context.set_default_timeout(600000)
                page = context.pages[0] if context.pages else context.new_page()
                if block_catalogue:
                    page.route("**/api/tills/catalogue/**", lambda route: route.abort())
                return context, page

            def log_in(page):
                page.goto(f"{base}/admin/login/?next=/admin/checkout/")
                page.fill("#id_username", "bench-offline-page")
                page.fill("#id_password", PASSWORD)
                page.click("#login-form [type=submit]")
                page.wait_for_url(f"{base}/admin/checkout/")

            def time_open(page, label, cached):
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    page.reload()
                    page.wait_for_function(ready)
                    times.append(time.perf_counter() - started)
                times.sort()
                rows.append({"what": label, "cached_products": cached, "seconds": times[len(times) // 2]})
                return times[len(times) // 2]

            context, page = open_profile(profile_full)
            log_in(page)
            started = time.perf_counter()
            page.wait_for_function("() => window.dukaTill && window.dukaTill.state.catalogueDone", polling=200)
            pulled = time.perf_counter() - started
            cached = page.evaluate("() => window.dukaTill.state.catalogueCount")
            rows.append({"what": "first catalogue download into IndexedDB (cursor pages of 2000)",
                         "cached_products": cached, "seconds": pulled})
            full = time_open(page, "open the till (reload to ready), catalogue cached", cached)

            code = Product.objects.filter(is_active=True).exclude(barcode=None).order_by("-pk").values_list(
                "barcode", flat=True).first()
            started = time.perf_counter()
            for _ in range(20):
                assert page.evaluate("(c) => window.dukaTill.lookup(c)", code)
            rows.append({"what": "barcode lookup in the cached catalogue (mean of 20)", "cached_products": cached,
                         "seconds": (time.perf_counter() - started) / 20})
            word = Product.objects.filter(is_active=True).values_list("name", flat=True).first().split()[0]
            started = time.perf_counter()
            found = page.evaluate("(w) => window.dukaTill.search(w).then((r) => r.length)", word)
            rows.append({"what": f"name search '{word}' in the cached catalogue ({found} shown)",
                         "cached_products": cached, "seconds": time.perf_counter() - started})

            for product in Product.objects.filter(is_active=True).order_by("pk")[:10]:
                product.price += 1
                product.save(update_fields=["price", "updated_at"])
            started = time.perf_counter()
            changed = page.evaluate("async () => { const before = Date.now(); await window.dukaTill.refreshCatalogue(); "
                                    "return Date.now() - before; }")
            rows.append({"what": "refresh after 10 price changes (delta by updated_at)", "cached_products": cached,
                         "seconds": changed / 1000})
            del started
            context.close()

            context, page = open_profile(profile_empty, block_catalogue=True)
            log_in(page)
            empty = time_open(page, "baseline: open the till, empty catalogue", 0)
            context.close()
    finally:
        shutil.rmtree(profile_full, ignore_errors=True)
        shutil.rmtree(profile_empty, ignore_errors=True)
    return rows, {"ratio_open_cached_to_empty": full / empty}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=500)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--only", choices=["sync", "page"], help="run one half")
    args = parser.parse_args()
    setup_django()
    ensure_data(args.products)
    run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"])
    sync_rows, page_rows, ratios = [], [], {}
    with gunicorn() as base:
        if args.only != "page":
            sync_rows, ratio = bench_sync(base, args.sales)
            ratios.update(ratio)
            table("Offline sync", sync_rows, ["what", "seconds", "sales_per_s"])
        if args.only != "sync":
            page_rows, ratio = bench_page(base, args.products)
            ratios.update(ratio)
            table("Opening the till with the catalogue cached", page_rows, ["what", "cached_products", "seconds"])
    if "ratio_sync_to_online" in ratios:
        print(f"\nsync speed / online checkout speed: {ratios['ratio_sync_to_online']:.2f} x")
    if "ratio_open_cached_to_empty" in ratios:
        print(f"open the till with {args.products:,} products cached / with none: "
              f"{ratios['ratio_open_cached_to_empty']:.2f} x (1.0 = does not depend on the catalogue)")
    problems = check_books_or_fail()
    save(f"offline-{args.only}" if args.only else "offline",
         {"sync": sync_rows, "page": page_rows, **ratios, "check_books": problems})
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
