"""Lipa na M-Pesa (pos/c2b): how fast the shop takes Daraja's C2B confirmations and answers the till's poll.

Through the real URL (Django's test client, in process, so the number is the shop's own work):
  * confirmations of money no sale is waiting for (stored raw, then in the register);
  * confirmations that settle a waiting sale (account number = the sale's reference: a Payment is made);
  * the baseline measured in the same run: forged confirmations (wrong URL token: stored raw and ignored),
    the least any notification costs.
And the till's poll (POST /api/c2b/till/<sale>/, services.look_for_payment) with N unmatched payments in the window: time and
queries (pinned at 5 by tests/c2b). Everything runs in a transaction that is rolled back.

    python bench/bench_c2b.py [--count 300]
"""

import argparse
import json
import logging
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import create_database, save, setup_django, table


class Rollback(Exception):
    pass


def body(trans_id, amount, bill_ref=""):
    return json.dumps({
        "TransactionType": "Pay Bill" if bill_ref else "Buy Goods", "TransID": trans_id,
        "TransTime": time.strftime("%Y%m%d%H%M%S"), "TransAmount": f"{amount}.00", "BusinessShortCode": "174379",
        "BillRefNumber": bill_ref, "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
        "MSISDN": "a" * 64, "FirstName": "BENCH", "MiddleName": "", "LastName": "CUSTOMER"})


def timed(client, url, bodies):
    started = time.perf_counter()
    for data in bodies:
        answer = client.post(url, data, content_type="application/json")
        assert answer.status_code == 200, answer.content
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--explain", action="store_true", help="print the last poll's queries and times")
    args = parser.parse_args()
    create_database()
    setup_django()
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from pos.accounts.models import Role, User
    from pos.c2b import services
    from pos.catalog.models import Category, Product
    from pos.inventory.services import adjust_stock
    from pos.sales.services import LineRequest, create_sale, open_shift

    settings.C2B_URL_TOKEN = settings.C2B_URL_TOKEN or "bench-c2b-token"
    logging.getLogger("pos.c2b.services.receiving").setLevel(logging.ERROR)  # one warning per forged notice
    client, n, rows = Client(), args.count, []
    confirm = f"/api/c2b/notify/{settings.C2B_URL_TOKEN}/confirmation/"
    try:
        with transaction.atomic():
            forged = timed(client, "/api/c2b/notify/wrong-token/confirmation/",
                           [body(f"BF{i:08d}", 100_000 + i) for i in range(n)])
            unmatched = timed(client, confirm, [body(f"BU{i:08d}", 200_000 + i) for i in range(n)])
            cashier = User.objects.create_user("bench-c2b", password="x", role=Role.CASHIER)
            shift = open_shift(cashier, Decimal(0))
            category, _ = Category.objects.get_or_create(name="Bench C2B")
            product = Product.objects.create(name="Bench C2B item", sku="BENCH-C2B", price=Decimal("77.00"),
                                             cost_price=Decimal(50), tax_rate=Decimal(0), category=category)
            adjust_stock(product, Decimal(n + 10), user=cashier, reason="bench")
            sales = [create_sale(cashier=cashier, shift=shift, items=[LineRequest(Decimal(1), product=product.pk)])[0]
                     for _ in range(n)]
            settling = timed(client, confirm, [body(f"BS{i:08d}", 77, services.sale_reference(sale))
                                               for i, sale in enumerate(sales)])
            assert all(sale.payments.filter(status="completed").exists() for sale in sales[:5])
            waiting = create_sale(cashier=cashier, shift=shift, items=[LineRequest(Decimal(1), product=product.pk)])[0]
            with connection.cursor() as cursor:  # planner statistics, as autovacuum keeps them in a live shop
                cursor.execute("ANALYZE payments_payment, c2b_receivedpayment, sales_sale")
            services.look_for_payment(waiting)
            polls = 20
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                for _ in range(polls):
                    view = services.look_for_payment(waiting)
                poll = (time.perf_counter() - started) / polls
            listed = len(view["incoming"])
            if "--explain" in sys.argv:
                for q in queries.captured_queries[-5:]:
                    print(q["time"], q["sql"][:200])
                from pos.c2b.services.matching import _unmatched_in_window

                print(_unmatched_in_window().order_by("-received_at", "-pk")[:20].explain(analyze=True))
            raise Rollback
    except Rollback:
        pass
    rows = [
        {"what": "forged confirmation (baseline: stored raw, ignored)", "per_s": n / forged,
         "ms_each": forged / n * 1000, "vs_baseline": 1.0},
        {"what": "confirmation, no sale waiting (register)", "per_s": n / unmatched, "ms_each": unmatched / n * 1000,
         "vs_baseline": unmatched / forged},
        {"what": "confirmation settling a waiting sale (Payment)", "per_s": n / settling,
         "ms_each": settling / n * 1000, "vs_baseline": settling / forged},
        {"what": f"till poll, {n} unmatched in the window ({listed} shown)", "per_s": 1 / poll,
         "ms_each": poll * 1000, "vs_baseline": None, "queries": len(queries) // polls},
    ]
    table(f"C2B, {n} confirmations each", rows, ["what", "per_s", "ms_each", "vs_baseline", "queries"])
    save("c2b", {"count": n, "results": rows})


if __name__ == "__main__":
    main()
