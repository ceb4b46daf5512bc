"""Deterministic benchmark data in PostgreSQL: a large catalogue and a year of sales.

Rows are written with COPY (fast) but keep every invariant of the services: each product's stock is
the sum of its movements (an opening purchase, then one sale movement per sale line), each sale's
total is the sum of its lines priced by pos.sales.services.price_lines, each sale is covered by a
completed cash payment, and receipt numbers have no gaps. `check_books` verifies it afterwards.

    python bench/data.py --products 100000 --lines 1000000
"""

import argparse
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import check_books_or_fail, create_database, setup_django  # noqa: E402

SEED = 20261124
OPENING_STOCK = Decimal("100000")
LINES_PER_SALE = 5


def ean13(n):
    body = f"616{n:09d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def _copy(cursor, table, columns, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_model(cursor, model, columns, rows):
    """COPY rows given for `columns`; every other column gets the model field's default (computed per
    row when the default is callable), so fields added to the models later do not break the generator."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if f.column not in columns and not f.primary_key]

    def default(f):
        return f.get_db_prep_save(f.get_default(), connection=connection) if f.has_default() or not f.null else None

    fixed = {f.column: default(f) for f in fields if not callable(f.default)}
    per_row = [f for f in fields if callable(f.default)]
    extra = list(fixed) + [f.column for f in per_row]
    fixed_values = tuple(fixed.values())
    _copy(cursor, model._meta.db_table, list(columns) + extra,
          (tuple(row) + fixed_values + tuple(default(f) for f in per_row) for row in rows))


def _reset_sequence(cursor, table):
    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}")


def make_catalogue(n_products):
    from django.db import connection
    from django.utils import timezone

    from pos.catalog.models import Category, Product
    from pos.inventory.models import StockMovement

    if Product.objects.count() >= n_products:
        print(f"catalogue: {Product.objects.count()} products already there")
        return
    rng = random.Random(SEED)
    started = time.perf_counter()
    categories = [Category.objects.get_or_create(name=f"Bench category {i:02d}")[0] for i in range(20)]
    now = timezone.now()
    start_id = (Product.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    products, movements = [], []
    for i in range(n_products):
        pid = start_id + i
        price = Decimal(rng.randrange(2000, 200000)) / 100
        cost = (price * Decimal(rng.randrange(55, 85)) / 100).quantize(Decimal("0.01"))
        rate = Decimal("0.00") if rng.random() < 0.2 else Decimal("16.00")
        products.append((pid, f"Bench product {pid:06d}", f"B-{pid:06d}", ean13(pid), categories[i % 20].pk, price,
                         cost, rate, "pcs", OPENING_STOCK, Decimal("10"), "", True, now, now))
        movements.append((pid, OPENING_STOCK, "purchase", "OPENING", cost, OPENING_STOCK, "", now))
    with connection.cursor() as c:
        raw = c.cursor
        _copy_model(raw, Product, ["id", "name", "sku", "barcode", "category_id", "price", "cost_price",
                                       "tax_rate", "unit", "stock_quantity", "reorder_level", "image", "is_active",
                                       "created_at", "updated_at"], products)
        _copy_model(raw, StockMovement, ["product_id", "quantity", "kind", "reference", "unit_cost",
                                               "balance_after", "note", "created_at"], movements)
        _reset_sequence(raw, "catalog_product")
        c.execute("ANALYZE catalog_product")
    print(f"catalogue: {n_products} products in {time.perf_counter() - started:.1f} s")


def make_sales(n_lines):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from pos.accounts.services import create_user
    from pos.catalog.models import Product
    from pos.inventory.models import StockMovement
    from pos.payments.models import Payment
    from pos.sales.models import ReceiptSequence, Sale, SaleItem, Shift
    from pos.sales.services import PricedLine, price_lines

    if Sale.objects.count() * LINES_PER_SALE >= n_lines:
        print(f"sales: {Sale.objects.count()} sales already there")
        ensure_rollups()
        return
    rng = random.Random(SEED + 1)
    started = time.perf_counter()
    User = get_user_model()
    cashier = User.objects.filter(username="bench-cashier").first() or create_user(
        username="bench-cashier", password="bench-pass-2026!", role="cashier")
    shift = Shift.objects.create(cashier=cashier, status="closed", closed_at=timezone.now())
    catalogue = list(Product.objects.values_list("id", "name", "sku", "barcode", "price", "cost_price", "tax_rate"))
    n_sales = n_lines // LINES_PER_SALE
    now = timezone.now()
    seq, _ = ReceiptSequence.objects.get_or_create(prefix="S-")
    first_number = seq.last_number + 1
    sale_id = (Sale.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    item_id = (SaleItem.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    sold = {}
    sales, items, payments, movements = [], [], [], []

    class P:  # the few attributes price_lines reads from a product
        __slots__ = ("cost_price",)

    for s in range(n_sales):
        when = now - timedelta(seconds=rng.randrange(0, 365 * 24 * 3600))
        picked = rng.sample(catalogue, LINES_PER_SALE)
        lines = []
        for *_, price, cost, rate in picked:
            qty = Decimal(rng.randrange(1, 4))
            product = P()
            product.cost_price = cost
            discount = Decimal("0.00") if rng.random() < 0.9 else (price * qty / 10).quantize(Decimal("0.01"))
            lines.append(PricedLine(product=product, quantity=qty, unit_price=price, tax_rate=rate,
                                    gross=(qty * price).quantize(Decimal("0.01")), discount=discount))
        order_discount = Decimal("0.00") if rng.random() < 0.95 else Decimal("10.00")
        price_lines(lines, order_discount)
        receipt = f"S-{first_number + s:06d}"
        total = sum(line.total for line in lines)
        sales.append((sale_id, receipt, "paid", cashier.pk, shift.pk, "", "", sum(line.gross for line in lines),
                      order_discount, sum(line.discount + line.order_discount for line in lines),
                      sum(line.tax for line in lines), total, total, Decimal("0"), Decimal("0"), "KES", "", "", "",
                      when, when, when))
        payments.append((sale_id, "cash", total, "KES", "completed", "", total, Decimal("0"), "", "", "", total, "",
                         "", f"bench-{sale_id}", "", 0, when, when, when))
        for line, (pid, name, sku, code, *_rest) in zip(lines, picked):
            items.append((item_id, sale_id, pid, name, sku, code, line.quantity, line.unit_price,
                          line.product.cost_price, line.tax_rate, line.gross, line.discount, line.order_discount,
                          line.tax, line.total, line.cost, Decimal("0")))
            sold[pid] = sold.get(pid, Decimal(0)) + line.quantity
            movements.append((pid, -line.quantity, "sale", receipt, line.product.cost_price,
                              OPENING_STOCK - sold[pid], "", when))
            item_id += 1
        sale_id += 1
    with connection.cursor() as c:
        raw = c.cursor
        _copy_model(raw, Sale, ["id", "receipt_number", "status", "cashier_id", "shift_id", "customer_name",
                                  "customer_phone", "subtotal", "order_discount", "discount", "tax", "total",
                                  "paid_amount", "change_due", "returned_amount", "currency", "request_hash", "note",
                                  "cancel_reason", "created_at", "confirmed_at", "paid_at"], sales)
        _copy_model(raw, SaleItem, ["id", "sale_id", "product_id", "name", "sku", "barcode", "quantity",
                                      "unit_price", "unit_cost", "tax_rate", "gross", "discount", "order_discount",
                                      "tax", "total", "cost", "returned_quantity"], items)
        _copy_model(raw, Payment, ["sale_id", "method", "amount", "currency", "status", "phone_number",
                                        "amount_tendered", "change_given", "provider_reference",
                                        "provider_secondary_reference", "receipt", "amount_received",
                                        "result_code", "result_message", "callback_token", "request_hash",
                                        "verify_attempts", "created_at", "updated_at", "completed_at"], payments)
        _copy_model(raw, StockMovement, ["product_id", "quantity", "kind", "reference", "unit_cost",
                                               "balance_after", "note", "created_at"], movements)
        c.execute("CREATE TEMP TABLE sold (product_id bigint, qty numeric)")
        _copy(raw, "sold", ["product_id", "qty"], sold.items())
        c.execute("UPDATE catalog_product p SET stock_quantity = p.stock_quantity - s.qty FROM sold s "
                  "WHERE s.product_id = p.id")
        for table in ("sales_sale", "sales_saleitem", "payments_payment", "inventory_stockmovement"):
            _reset_sequence(raw, table)
        c.execute("UPDATE sales_receiptsequence SET last_number = %s WHERE prefix = 'S-'",
                  [first_number + n_sales - 1])
        c.execute("ANALYZE")
    print(f"sales: {n_sales} sales / {len(items)} lines in {time.perf_counter() - started:.1f} s")
    ensure_rollups()


def ensure_rollups():
    """The reports' daily rollups of the copied sales (the services keep them up to date; COPY does not)."""
    from django.db import connection

    from pos.reports import rollups
    from pos.reports.models import SalesRollup
    from pos.sales.models import Sale

    if not Sale.objects.exists() or SalesRollup.objects.exists():
        return
    started = time.perf_counter()
    rows = rollups.rebuild()
    with connection.cursor() as c:
        c.execute(f"ANALYZE {SalesRollup._meta.db_table}")
    print(f"rollups: {rows} rows in {time.perf_counter() - started:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--check", action="store_true", help="run check_books afterwards (slow on big data)")
    args = parser.parse_args()
    setup_django()
    create_database()
    make_catalogue(args.products)
    make_sales(args.lines)
    if args.check and check_books_or_fail():
        sys.exit(1)


if __name__ == "__main__":
    main()
