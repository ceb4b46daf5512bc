"""Catalogue import: 10,000 products from an xlsx file through the same import the admin uses
(django-import-export + pos.catalog.services, every row validated), against a raw bulk_create of the
same rows (the floor) measured in the same run. Runs in a transaction that is rolled back.

The admin's import is two passes over the file: the preview (a dry run that shows each row's diff) and
the confirmed import; both are timed, and so is reading the xlsx file.

    python bench/bench_import.py [--rows 10000]
"""

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import save, setup_django, table
from bench.data import ean13

START = 900_000


def write_xlsx(path, rows):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("products")
    ws.append(["name", "sku", "barcode", "category", "price", "cost_price", "tax_rate", "unit", "reorder_level",
                "is_active"])
    for i in range(rows):
        n = START + i
        ws.append([f"Imported product {n}", f"IMP-{n}", ean13(n), f"Bench category {i % 20:02d}",
                   float(100 + i % 500), float(60 + i % 300), 16 if i % 5 else 0, "pcs", 5, "yes"])
    wb.save(path)


class Rollback(Exception):
    pass


def read_xlsx(path):
    import tablib

    started = time.perf_counter()
    with open(path, "rb") as fh:
        dataset = tablib.Dataset().load(fh.read(), format="xlsx")
    return dataset, time.perf_counter() - started


def timed_import(dataset, user, dry_run=False):
    """(seconds, rows with errors, queries) of one import of the dataset, rolled back afterwards."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from pos.catalog.resources import ProductResource

    started = time.perf_counter()
    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            result = ProductResource().import_data(dataset, dry_run=dry_run, user=user)
            took = time.perf_counter() - started
            errors = len(result.row_errors()) + len(result.invalid_rows) + len(result.base_errors)
            raise Rollback
    except Rollback:
        pass
    return took, errors, len(queries)


def timed_bulk_create(rows):
    from django.db import transaction

    from pos.catalog.models import Category, Product

    categories = {c.name: c for c in Category.objects.filter(name__startswith="Bench category")}
    started = time.perf_counter()
    try:
        with transaction.atomic():
            Product.objects.bulk_create([
                Product(name=f"Imported product {START + i}", sku=f"IMP-{START + i}", barcode=ean13(START + i),
                        category=categories[f"Bench category {i % 20:02d}"], price=Decimal(100 + i % 500),
                        cost_price=Decimal(60 + i % 300), tax_rate=Decimal(16 if i % 5 else 0))
                for i in range(rows)], batch_size=2000)
            took = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return took


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    setup_django()
    from pos.accounts.models import User
    from pos.catalog.models import Category

    for i in range(20):
        Category.objects.get_or_create(name=f"Bench category {i:02d}")
    user = User.objects.filter(role="admin").first() or User.objects.first()
    path = Path(tempfile.mkdtemp()) / "products.xlsx"
    write_xlsx(path, args.rows)
    floor = timed_bulk_create(args.rows)
    dataset, parse = read_xlsx(path)
    rows = [
        {"what": "bulk_create (floor)", "seconds": round(floor, 2), "rows_per_s": round(args.rows / floor)},
        {"what": "read xlsx (tablib)", "seconds": round(parse, 2), "rows_per_s": round(args.rows / parse)},
    ]
    for what, dry_run in (("admin preview (dry run)", True), ("admin confirm (import)", False)):
        took, errors, queries = timed_import(dataset, user, dry_run=dry_run)
        rows.append({"what": what, "seconds": round(took, 2), "rows_per_s": round(args.rows / took),
                     "queries": queries, "row_errors": errors, "ratio_vs_floor": round(took / floor, 1)})
    table(f"Import of {args.rows} products", rows,
          ["what", "seconds", "rows_per_s", "queries", "row_errors", "ratio_vs_floor"])
    save("import", {"rows": args.rows, "results": rows})


if __name__ == "__main__":
    main()
