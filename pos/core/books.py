"""The invariants that make the books add up, each checked with one aggregate query.

`check_books()` returns the list of violations (empty when the books are right). Run it as
`manage.py check_books`; the race tests and benchmarks run it at the end.
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import BigIntegerField, DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from pos.catalog.models import Product
from pos.inventory.models import StockMovement
from pos.payments.models import Payment, Refund
from pos.sales.models import ReceiptSequence, Sale, SaleItem, SaleReturn, SaleReturnLine

SETTLED = ["paid", "partially_returned", "returned"]
# Compared exactly on both databases: every amount becomes a whole number of cents (quantities: of
# thousandths) before it is summed, so SQLite's float SUM never makes "928.15 vs 928.150000000000".
CENTS, MILLIS = 100, 1000
UNITS = BigIntegerField()


def _units(expression, scale=CENTS):
    """`expression` (a decimal) as a whole number of cents (scale 100) or thousandths (1000)."""
    return Cast(Round(ExpressionWrapper(expression * Value(scale), output_field=DecimalField())), UNITS)


def _sum(model, field, scale=CENTS, **filters):
    """A correlated subquery: the sum, in units, of `field` of `model` rows matching `filters`."""
    rows = model.objects.filter(**filters).order_by().values(*filters.keys())
    return Coalesce(Subquery(rows.annotate(s=Sum(_units(F(field), scale))).values("s")[:1], output_field=UNITS),
                    Value(0, output_field=UNITS))


def _show(units, scale=CENTS):
    """Units back to a decimal for the message (2 places for money, 3 for quantities)."""
    places = Decimal("0.01") if scale == CENTS else Decimal("0.001")
    return (Decimal(units) / scale).quantize(places)


def stock_mismatches():
    rows = (Product.objects.annotate(ledger=_sum(StockMovement, "quantity", MILLIS, product=OuterRef("pk")),
                                     own=_units(F("stock_quantity"), MILLIS))
            .exclude(own=F("ledger")).values_list("sku", "stock_quantity", "ledger"))
    return [f"stock: product {sku} has stock {qty} but its ledger sums to {_show(ledger, MILLIS)}"
            for sku, qty, ledger in rows]


def negative_stock():
    if settings.ALLOW_NEGATIVE_STOCK:
        return []
    from pos.tills.services import negative_stock_explained

    # Stock an offline sale took below zero is flagged for a manager (not an error) until reviewed.
    rows = (Product.objects.filter(stock_quantity__lt=0).exclude(pk__in=negative_stock_explained())
            .values_list("sku", "stock_quantity"))
    return [f"stock: product {sku} is negative ({qty})" for sku, qty in rows]


def sale_total_mismatches():
    """A sale's total is its lines plus its rounding line; its VAT is its lines' VAT."""
    rows = (Sale.objects.exclude(status="open")
            .annotate(lines=_sum(SaleItem, "total", sale=OuterRef("pk")), line_tax=_sum(SaleItem, "tax", sale=OuterRef("pk")),
                      own=_units(F("total") - F("rounding")), own_tax=_units(F("tax")))
            .filter(~Q(own=F("lines")) | ~Q(own_tax=F("line_tax")))
            .values_list("receipt_number", "total", "lines", "rounding", "tax", "line_tax"))
    return [f"sale: {r} total {t} / tax {x} but its lines sum to {_show(lt)} (+ rounding {rd}) / {_show(lx)}"
            for r, t, lt, rd, x, lx in rows]


def return_mismatches():
    """A return owes its lines plus its rounding line; a sale's returns never owe more than it charged."""
    rows = (SaleReturn.objects.annotate(line_sum=_sum(SaleReturnLine, "amount", sale_return=OuterRef("pk")),
                                        own=_units(F("amount") - F("rounding")))
            .exclude(own=F("line_sum")).values_list("pk", "amount", "line_sum", "rounding"))
    problems = [f"return: #{pk} owes {a} but its lines sum to {_show(lt)} (+ rounding {rd})" for pk, a, lt, rd in rows]
    over = (Sale.objects.annotate(returned=_sum(SaleReturn, "amount", sale=OuterRef("pk")),
                                  own_total=_units(F("total")), own_returned=_units(F("returned_amount")))
            .filter(Q(returned__gt=F("own_total")) | ~Q(returned=F("own_returned")))
            .values_list("receipt_number", "total", "returned", "returned_amount"))
    problems += [f"return: sale {r} of {t} has returns of {_show(x)} (recorded {c})" for r, t, x, c in over]
    return problems


def over_refunded_returns():
    """Money paid back on a return (cash out of the drawer included) never exceeds what the return owes."""
    rows = (SaleReturn.objects.annotate(paid=_sum(Refund, "amount", sale_return=OuterRef("pk"), status="completed"),
                                        own=_units(F("amount")))
            .filter(paid__gt=F("own")).values_list("pk", "amount", "paid"))
    return [f"refund: return #{pk} owes {a} but {_show(p)} was paid back" for pk, a, p in rows]


def unpaid_settled_sales():
    rows = (Sale.objects.filter(status__in=SETTLED)
            .annotate(paid=_sum(Payment, "amount", sale=OuterRef("pk"), status="completed"), own=_units(F("total")))
            .filter(paid__lt=F("own")).values_list("receipt_number", "total", "paid"))
    return [f"payment: sale {r} is marked paid ({t}) but completed payments cover {_show(p)}" for r, t, p in rows]


def paid_cache_mismatches():
    rows = (Sale.objects.annotate(paid=_sum(Payment, "amount", sale=OuterRef("pk"), status="completed"),
                                  own=_units(F("paid_amount")))
            .exclude(own=F("paid")).values_list("receipt_number", "paid_amount", "paid"))
    return [f"payment: sale {r} records {c} paid but completed payments sum to {_show(p)}" for r, c, p in rows]


def over_refunded_payments():
    rows = (Payment.objects.annotate(refunded=_sum(Refund, "amount", payment=OuterRef("pk"), status="completed"),
                                     own=_units(F("amount")))
            .filter(refunded__gt=F("own")).values_list("pk", "amount", "refunded"))
    return [f"refund: payment {pk} of {a} has {_show(r)} refunded" for pk, a, r in rows]


def receipt_gaps():
    problems = []
    for seq in ReceiptSequence.objects.all():
        count = Sale.objects.filter(receipt_number__startswith=seq.prefix).count()
        if count != seq.last_number:
            problems.append(f"receipts: {seq.last_number} numbers issued with prefix {seq.prefix} but {count} sales")
    return problems


def mpesa_receipts_missing():
    """M-Pesa receipts Safaricom listed (Pull Transactions) that the books do not account for (pos.c2b)."""
    from pos.c2b.services import receipts_missing_from_books

    return receipts_missing_from_books()


CHECKS = [stock_mismatches, negative_stock, sale_total_mismatches, return_mismatches, unpaid_settled_sales,
          paid_cache_mismatches, over_refunded_payments, over_refunded_returns, receipt_gaps, mpesa_receipts_missing]


def offline_receipt_gaps():
    from pos.tills.services import offline_receipt_gaps as gaps

    return gaps()


CHECKS.append(offline_receipt_gaps)


def unsigned_fiscal_documents():
    """Sales and credit notes KRA has not signed after ETIMS_UNSIGNED_ALERT_MINUTES (pos.fiscal)."""
    from pos.fiscal.services import unsigned_documents

    return unsigned_documents()


CHECKS.append(unsigned_fiscal_documents)


def rollup_mismatches():
    """The reports' daily rollups equal the sales lines and returns they sum (pos.reports.rollups)."""
    from pos.reports.rollups import mismatches

    return mismatches()


CHECKS.append(rollup_mismatches)


def check_books():
    return [problem for check in CHECKS for problem in check()]
