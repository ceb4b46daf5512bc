"""The invariants that make the books add up, each checked with one aggregate query.

`check_books()` returns the list of violations (empty when the books are right). Run it as
`manage.py check_books`; the race tests and benchmarks run it at the end.
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import BigIntegerField, DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round
from django.utils import timezone

from pos.catalog.models import Product
from pos.inventory.models import StockMovement
from pos.payments.models import Payment, PaymentCallback, Refund
from pos.sales.models import SOLD_STATUSES, ReceiptSequence, Sale, SaleItem, SaleReturn, SaleReturnLine

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


def unpaid_settled_sales():
    rows = (Sale.objects.filter(status__in=SOLD_STATUSES)
            .annotate(paid=_sum(Payment, "amount", sale=OuterRef("pk"), status="completed"), own=_units(F("total")))
            .filter(paid__lt=F("own")).values_list("receipt_number", "total", "paid"))
    return [f"payment: sale {r} is marked paid ({t}) but completed payments cover {_show(p)}" for r, t, p in rows]


def paid_cache_mismatches():
    rows = (Sale.objects.annotate(paid=_sum(Payment, "amount", sale=OuterRef("pk"), status="completed"),
                                  own=_units(F("paid_amount")))
            .exclude(own=F("paid")).values_list("receipt_number", "paid_amount", "paid"))
    return [f"payment: sale {r} records {c} paid but completed payments sum to {_show(p)}" for r, c, p in rows]


def over_refunded_payments():
    """Refunds (done, on their way or waiting) above what a payment brought in: the same definition of
    "refundable" as the refund service (pos.payments.services.refundable_amount)."""
    from pos.payments.services.common import brought_in
    from pos.payments.services.refunds import over_refunded_payments as rows

    return [f"refund: payment {p.pk} of sale {p.sale.receipt_number} brought in {brought_in(p)} but has {r} refunded"
            for p, r in rows()]


def over_refunded_returns():
    """Money paid back on a return (cash out of the drawer included), done or on its way, never exceeds what
    the return owes: the same definition as the refund service (pos.payments.services.return_owed)."""
    from pos.payments.services import over_refunded_returns as rows

    return [f"refund: return #{r.pk} of sale {r.sale.receipt_number} owes {r.amount} but {refunded} was paid back "
            f"or is on its way" for r, refunded in rows()]


def _window_start():
    from pos.payments.services.common import confirm_window

    return timezone.now() - confirm_window()


def unapplied_provider_successes():
    """Successes the provider reported (a stored callback waiting for confirmation, a receipt a callback
    carried) that never became a completed payment within the confirmation window."""
    cutoff = _window_start()
    problems = [f"payment: callback {c.pk} ({c.provider}) reported a success stored at {c.received_at:%Y-%m-%d %H:%M} "
                f"but never confirmed (payment {c.payment_id}, sale {c.payment.sale.receipt_number if c.payment else '-'})"
                for c in PaymentCallback.objects.select_related("payment__sale")
                .filter(outcome="received", received_at__lt=cutoff)]
    rows = (Payment.objects.exclude(reported_receipt="").exclude(status="completed").filter(created_at__lt=cutoff)
            .exclude(attention__in=["underpaid", "currency_mismatch", "receipt_conflict"])
            .select_related("sale"))
    problems += [f"payment: payment {p.pk} of sale {p.sale.receipt_number} has provider receipt {p.reported_receipt} "
                 f"but is {p.status}" for p in rows]
    return problems


def completed_mobile_without_receipt():
    # An M-Pesa code typed at an offline till (result_code "offline") is tracked by the offline review
    # (pos.tills) until the C2B register confirms it.
    rows = (Payment.objects.filter(status="completed", method__in=["mpesa", "airtel"], receipt="")
            .exclude(result_code="offline").select_related("sale"))
    return [f"payment: completed {p.method} payment {p.pk} of sale {p.sale.receipt_number} has no provider receipt"
            for p in rows]


def unconfirmed_past_window():
    cutoff = _window_start()
    payments = (Payment.objects.filter(status__in=["pending", "processing", "unconfirmed"], created_at__lt=cutoff)
                .exclude(method="cash").select_related("sale"))
    problems = [f"payment: payment {p.pk} of sale {p.sale.receipt_number} is still {p.status} past its confirmation "
                f"window{' (flagged unresolved)' if p.attention == 'unresolved' else ''}" for p in payments]
    refunds = Refund.objects.filter(status="processing", created_at__lt=cutoff).select_related("payment__sale")
    problems += [f"refund: refund {r.pk} of payment {r.payment_id} (sale {r.payment.sale.receipt_number}) is still "
                 f"processing past its confirmation window" for r in refunds]
    return problems


def refund_amount_mismatches():
    rows = (Refund.objects.filter(status="completed", provider_amount__isnull=False)
            .exclude(provider_amount=F("amount")).select_related("payment__sale"))
    return [f"refund: refund {r.pk} of payment {r.payment_id} (sale {r.payment.sale.receipt_number}) is for "
            f"{r.amount} but the provider refunded {r.provider_amount}" for r in rows]


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
          paid_cache_mismatches, over_refunded_payments, over_refunded_returns, unapplied_provider_successes,
          completed_mobile_without_receipt, unconfirmed_past_window, refund_amount_mismatches, receipt_gaps,
          mpesa_receipts_missing]


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


def drawer_money_outside_its_shift():
    """Cash in / out and cash refunds from a drawer happen while its shift is open (so they are in its Z),
    and a cash out above CASH_OUT_AUTHORISATION_LIMIT names the manager who allowed it (pos.sales.cash)."""
    from pos.sales.models import CashMovement

    late = (CashMovement.objects.filter(shift__status="closed", created_at__gt=F("shift__closed_at"))
            .values_list("pk", "kind", "amount", "shift_id"))
    problems = [f"cash: cash {kind} #{pk} of {amount} was recorded after the shift #{shift} closed"
                for pk, kind, amount, shift in late]
    large = (CashMovement.objects.filter(kind="out", amount__gt=settings.CASH_OUT_AUTHORISATION_LIMIT,
                                         authorised_by__isnull=True).values_list("pk", "amount", "shift_id"))
    problems += [f"cash: cash out #{pk} of {amount} (shift #{shift}) is above the limit and no manager allowed it"
                 for pk, amount, shift in large]
    refunds = (Refund.objects.filter(drawer_shift__status="closed", status="completed",
                                     completed_at__gt=F("drawer_shift__closed_at"))
               .values_list("pk", "amount", "drawer_shift_id"))
    problems += [f"refund: cash refund {pk} of {amount} was paid from shift #{shift}'s drawer after it closed"
                 for pk, amount, shift in refunds]
    return problems


CHECKS.append(drawer_money_outside_its_shift)


def closed_shift_cash_mismatches():
    """A closed shift's expected cash (its Z) is what its money says: float + cash sales (handed over -
    change) - cash refunds paid from its drawer + cash in - cash out (pos.sales.services.shift_report)."""
    from pos.sales.models import CashMovement, Shift

    def of_shift(model, key, **filters):
        rows = model.objects.filter(**{key: OuterRef("pk")}, **filters).order_by().values(key)
        return Coalesce(Subquery(rows.annotate(s=Sum(_units(F("amount")))).values("s")[:1], output_field=UNITS),
                        Value(0, output_field=UNITS))

    rows = (Shift.objects.filter(status="closed", expected_cash__isnull=False).annotate(
        cash_sales=of_shift(Payment, "sale__shift", status="completed", method="cash"),
        drawer_refunds=of_shift(Refund, "drawer_shift", status="completed"),
        return_refunds=of_shift(Refund, "sale_return__shift", drawer_shift__isnull=True, status="completed",
                         payment__method="cash"),
        sale_refunds=of_shift(Refund, "payment__sale__shift", drawer_shift__isnull=True, sale_return__isnull=True,
                        status="completed", payment__method="cash"),
        paid_in=of_shift(CashMovement, "shift", kind="in"),
        paid_out=of_shift(CashMovement, "shift", kind="out"),
        own=_units(F("expected_cash")), float_units=_units(F("opening_float")))
        .annotate(counted_back=F("float_units") + F("cash_sales") - F("drawer_refunds") - F("return_refunds")
                  - F("sale_refunds") + F("paid_in") - F("paid_out"))
        .exclude(own=F("counted_back")).values_list("pk", "expected_cash", "counted_back"))
    return [f"cash: shift #{pk} closed expecting {expected} in the drawer but its cash adds up to {_show(back)}"
            for pk, expected, back in rows]


CHECKS.append(closed_shift_cash_mismatches)


def check_books():
    return [problem for check in CHECKS for problem in check()]
