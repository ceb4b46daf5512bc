"""Till operations: register a till, reserve offline receipt numbers, take in a sale made offline exactly
once, the catalogue the till caches (by cursor on updated_at), and what a manager must look at.

Every operation is one transaction and raises ServiceError on bad input, like the sales services.
"""

import re
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from pos.catalog.models import Product, Unit
from pos.core.errors import ServiceError
from pos.core.idempotency import create_once, fingerprint
from pos.core.money import ZERO, to_money, to_quantity
from pos.payments.models import Method, Payment, PaymentStatus
from pos.payments.services import pay_cash
from pos.sales import services as sales
from pos.sales.models import SaleStatus, Shift, ShiftStatus
from pos.tills.models import OfflineMpesaCode, OfflineSale, ReceiptBlock, RefusedOfflineSale, Till

TILL_HEADER = "X-Till"
MPESA_CODE = re.compile(r"^[A-Z0-9]{10}$")
OFFLINE_METHODS = {Method.CASH, Method.MPESA}


# --- tills -----------------------------------------------------------------------------------------------

def _device(value) -> uuidlib.UUID:
    try:
        return uuidlib.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise ServiceError(gettext("The till id must be a UUID."), field="device_id", code="bad_till") from None


def register_till(device_id, *, user, name="") -> Till:
    """The till for this browser, created on first use with the next free code (T01, T02, ...)."""
    device = _device(device_id)
    till = Till.objects.filter(device_id=device).first()
    if till is None:
        for _ in range(5):
            try:
                with transaction.atomic():
                    n = Till.objects.count() + 1
                    till = Till.objects.create(device_id=device, code=f"T{n:02d}", name=name[:80])
                break
            except IntegrityError:
                till = Till.objects.filter(device_id=device).first()
                if till:
                    break
        else:
            raise ServiceError(gettext("Could not register the till: try again."), field="device_id", code="busy")
    if not till.is_active:
        raise ServiceError(gettext("Till %(till)s is disabled: ask a manager.") % {"till": till.code}, field="device_id",
                           code="till_disabled")
    return till


def till_for_request(request) -> Till | None:
    """The till named by the request's X-Till header (its device id), or None for other clients."""
    value = request.headers.get(TILL_HEADER)
    if not value:
        return None
    try:
        return Till.objects.filter(device_id=uuidlib.UUID(value), is_active=True).first()
    except ValueError:
        return None


def receipt_prefix_for(request) -> str:
    """The receipt series of an online sale: the till's own (no till waits on another's counter row), or
    the shop's RECEIPT_PREFIX for clients that are not a registered till."""
    till = till_for_request(request)
    return till.online_prefix if till else ""


def report_status(till, *, user, unsynced) -> Till:
    """The till says it is alive and how many sales it still holds (shown to managers; closes nothing)."""
    try:
        unsynced = max(0, int(unsynced))
    except (TypeError, ValueError):
        raise ServiceError(gettext("unsynced must be a whole number."), field="unsynced", code="invalid") from None
    Till.objects.filter(pk=till.pk).update(last_seen_at=timezone.now(), last_seen_by=user, unsynced_count=unsynced)
    till.refresh_from_db()
    return till


def refuse_while_unsynced(shift):
    """Shift close is refused while a till of this cashier last said it holds unsynced offline sales."""
    waiting = Till.objects.filter(last_seen_by=shift.cashier_id, unsynced_count__gt=0)
    count = sum(t.unsynced_count for t in waiting)
    if count:
        codes = ", ".join(t.code for t in waiting)
        raise ServiceError(gettext("%(count)s offline sale(s) on till %(tills)s are not synced yet: bring the till online and let "
                             "it sync before closing the shift.") % {"count": count, "tills": codes},
                           field="shift", code="unsynced_sales")


@transaction.atomic
def reserve_block(till, *, user, size=None) -> ReceiptBlock:
    """The next `size` offline receipt numbers of the till, following its last block (gap-free series)."""
    size = int(size or settings.OFFLINE_BLOCK_SIZE)
    if not 1 <= size <= 1000:
        raise ServiceError(gettext("A block holds 1 to 1000 numbers."), field="size", code="invalid")
    till = Till.objects.select_for_update().get(pk=till.pk)
    start = till.offline_reserved + 1
    till.offline_reserved = start + size - 1
    till.save(update_fields=["offline_reserved"])
    return ReceiptBlock.objects.create(till=till, start=start, end=till.offline_reserved, reserved_by=user)


# --- taking in an offline sale -----------------------------------------------------------------------------

@dataclass
class OfflineLine:
    product: int
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    discount: Decimal = ZERO


@dataclass
class OfflinePayment:
    method: str
    amount: Decimal
    tendered: Decimal | None = None
    code: str = ""


@dataclass
class OfflineSaleRequest:
    client_uuid: str
    number: int
    sold_at: str
    shift: int | None
    items: list[OfflineLine]
    payments: list[OfflinePayment]
    discount: Decimal = ZERO
    total: Decimal | None = None
    customer_phone: str = ""


def _fingerprint(request: OfflineSaleRequest) -> str:
    return fingerprint({
        "number": request.number, "shift": request.shift, "discount": str(to_money(request.discount)),
        "items": [(line.product, str(to_quantity(line.quantity)), str(to_money(line.unit_price)),
                   str(line.tax_rate), str(to_money(line.discount))) for line in request.items],
        "payments": [(p.method, str(to_money(p.amount)), p.code) for p in request.payments],
    })


def accept_offline_sale(*, cashier, till, request: OfflineSaleRequest):
    """Take in a sale the till made offline, exactly once (pos.core.idempotency on the till's
    client_uuid): a retry with the same body answers the first sale (created False). Prices are the ones
    the till used (flagged where the catalogue differs), stock is posted even below zero (flagged, never
    refused), payments are recorded as taken (an M-Pesa code typed offline is flagged until matched) and
    the sale joins the cashier's shift. Returns (OfflineSale, created)."""
    client_uuid = _device(request.client_uuid)
    request_hash = _fingerprint(request)
    return create_once(OfflineSale, client_uuid, request_hash, key_field="client_uuid", what="sale",
                       create=lambda: _accept(cashier, till, request, client_uuid, request_hash))


def _shift(cashier, shift_id):
    """The shift the till sold in (locked); a sale made offline is never refused for its shift."""
    shift = None
    if shift_id:
        shift = Shift.objects.select_for_update().filter(pk=shift_id, cashier=cashier).first()
    if shift is None:
        shift = Shift.objects.select_for_update().filter(cashier=cashier, status=ShiftStatus.OPEN).first()
    if shift is None:
        shift = Shift.objects.filter(cashier=cashier).order_by("-opened_at").first()
    if shift is None:
        raise ServiceError(gettext("This cashier has no shift: open one, then sync again."), field="shift",
                           code="no_open_shift")
    return shift


def _check_number(till, number):
    if not ReceiptBlock.objects.filter(till=till, start__lte=number, end__gte=number).exists():
        raise ServiceError(gettext("Receipt %(receipt)s was never reserved for till %(till)s.")
                           % {"receipt": till.offline_receipt(number), "till": till.code},
                           field="number", code="number_not_reserved")


def _accept(cashier, till, request, client_uuid, fingerprint):
    till = Till.objects.select_for_update().get(pk=till.pk)
    _check_number(till, request.number)
    shift = _shift(cashier, request.shift)
    requests = [sales.LineRequest(line.quantity, product=line.product, discount=line.discount)
                for line in request.items]
    recorded = [(to_money(line.unit_price), Decimal(line.tax_rate)) for line in request.items]
    lines = sales.build_lines(requests, request.discount, cashier, recorded=recorded)
    notes = []
    price_changed = False
    for n, line in enumerate(lines, start=1):
        product = line.product
        if product.price != line.unit_price or product.tax_rate != line.tax_rate or not product.is_active:
            price_changed = True
            notes.append(f"Line {n} {product.name}: sold at {line.unit_price} (VAT {line.tax_rate}%), catalogue now "
                         f"{product.price} (VAT {product.tax_rate}%){'' if product.is_active else ', inactive'}.")
    receipt = till.offline_receipt(request.number)
    sale = sales.write_sale(cashier=cashier, shift=shift, lines=lines, discount=request.discount,
                            receipt_number=receipt, customer_phone=request.customer_phone[:20],
                            key=f"offline:{client_uuid}", fingerprint=fingerprint, allow_negative=True,
                            note=f"Sold offline on till {till.code} at {request.sold_at}.")
    if request.total is not None and to_money(request.total) != sale.total:
        notes.append(f"The till printed a total of {to_money(request.total)}; the lines add up to {sale.total}.")
    negative = Product.objects.filter(pk__in=[line.product.pk for line in lines], stock_quantity__lt=0).order_by("pk")
    for product in negative:
        notes.append(f"{product.name} ({product.sku}) went to {product.stock_quantity} in stock: count it.")
    typed = _take_payments(sale, request.payments, cashier, notes)
    sale.refresh_from_db()
    if sale.status != SaleStatus.PAID:
        notes.append(f"Payments recorded offline cover {sale.paid_amount} of {sale.total}: collect the rest.")
    sold_at = _sold_at(request.sold_at)
    late = shift.status != ShiftStatus.OPEN
    if late:
        notes.append(f"Shift #{shift.pk} was already closed when this sale arrived.")
    offline = OfflineSale.objects.create(
        client_uuid=client_uuid, till=till, sale=sale, number=request.number, sold_at=sold_at,
        request_hash=fingerprint, price_changed=price_changed, negative_stock=bool(negative),
        unconfirmed_mpesa=bool(typed), mpesa_code=",".join(code for _, code in typed)[:20], late_shift=late,
        notes="\n".join(notes), needs_attention=bool(notes), total=sale.total,
    )
    OfflineMpesaCode.objects.bulk_create([OfflineMpesaCode(offline_sale=offline, payment=payment, code=code)
                                          for payment, code in typed])
    till.last_synced_at = timezone.now()
    till.save(update_fields=["last_synced_at"])
    return offline


def _sold_at(value):
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _take_payments(sale, payments, cashier, notes):
    """Cash as handed over (change computed by pay_cash). M-Pesa paid to the till with the code the cashier
    typed: when the C2B register already holds that code it settles the sale as a confirmed payment (the
    register's own matching); otherwise the payment is recorded as taken (the goods left) and flagged until
    the code arrives (confirm_offline_codes). Returns [(payment, code)] of the unconfirmed ones."""
    typed = []
    # cash first: what is left due is then the M-Pesa part, which the register's receipt may settle
    for n, payment in sorted(enumerate(payments, start=1), key=lambda pair: pair[1].method != Method.CASH):
        amount = to_money(payment.amount)
        if payment.method not in OFFLINE_METHODS:
            raise ServiceError(gettext("Payment %(n)s: %(method)s cannot be taken offline.")
                               % {"n": n, "method": payment.method}, field="payments",
                               code="method_not_offline")
        if amount <= 0:
            raise ServiceError(gettext("Payment %(n)s: the amount must be greater than zero.") % {"n": n}, field="payments",
                               code="invalid_amount")
        if payment.method == Method.CASH:
            tendered = to_money(payment.tendered if payment.tendered is not None else amount)
            if tendered < amount:
                raise ServiceError(gettext("Payment %(n)s: cash given %(tendered)s is less than %(amount)s.")
                                   % {"n": n, "tendered": tendered, "amount": amount}, field="payments",
                                   code="not_enough_cash")
            pay_cash(sale, amount_tendered=tendered, user=cashier, amount=amount)
            continue
        code = re.sub(r"\s", "", payment.code or "").upper()
        if not MPESA_CODE.match(code):
            notes.append(f"M-Pesa code {code!r} does not look like an M-Pesa receipt (10 letters/digits).")
        confirmed = _match_in_register(sale, code, amount, cashier)
        if confirmed >= amount:
            continue
        left = amount - confirmed
        typed.append((_record_mpesa(sale, left, code, cashier), code))
        notes.append(f"M-Pesa {left} with code {code} typed by the cashier offline is not in the M-Pesa register "
                     "yet: it is matched when it arrives, or check the M-Pesa statement.")
    return typed


def _match_in_register(sale, code, amount, cashier) -> Decimal:
    """Settle with the C2B register's receipt for `code` when it is there (pos.c2b's matching, in a
    savepoint: a code not received, already used or malformed changes nothing). Returns the amount
    applied."""
    try:
        from pos.c2b.services import match_by_code
    except ImportError:  # the C2B register is not installed
        return ZERO
    try:
        with transaction.atomic():
            payment = match_by_code(sale, code, user=cashier)
    except ServiceError:
        return ZERO
    return min(payment.amount, amount)


def _record_mpesa(sale, amount, code, cashier):
    """A customer paid the till's M-Pesa number while the shop was offline: the cashier saw the message
    and typed its code. The payment is recorded as taken (the goods left) with the code kept beside it
    (OfflineMpesaCode); the provider receipt stays empty until the code is matched, so a code typed twice
    never blocks a sale on the unique receipt constraint."""
    sale = sales.lock_sale(sale)
    payment = Payment.objects.create(
        sale=sale, method=Method.MPESA, amount=amount, currency=settings.CURRENCY, status=PaymentStatus.COMPLETED,
        amount_received=amount, created_by=cashier, completed_at=timezone.now(), result_code="offline",
        result_message=f"Offline M-Pesa code {code} typed by the cashier; not matched yet.",
    )
    sales.settle_locked_sale(sale)
    return payment


def confirm_offline_codes(limit=200) -> int:
    """Link M-Pesa codes typed offline to the C2B register's receipts that have arrived since: the receipt
    is marked matched to the payment the till recorded, the payment gets the provider receipt, and the
    offline sale's flag clears (kept when the amounts differ). Returns how many were confirmed."""
    try:
        from pos.c2b.models import MatchRule, ReceiptState, ReceivedPayment
    except ImportError:
        return 0
    done = 0
    pending = list(OfflineMpesaCode.objects.filter(confirmed_at__isnull=True).order_by("pk")[:limit])
    arrived = {r.trans_id: r for r in ReceivedPayment.objects.filter(
        trans_id__in=[c.code for c in pending], state=ReceiptState.UNMATCHED)}
    for typed in pending:
        if typed.code not in arrived:
            continue
        with transaction.atomic():
            receipt = ReceivedPayment.objects.select_for_update().get(pk=arrived[typed.code].pk)
            typed = OfflineMpesaCode.objects.select_for_update().select_related("payment", "offline_sale").get(
                pk=typed.pk)
            if receipt.state != ReceiptState.UNMATCHED or typed.confirmed_at:
                continue
            payment = typed.payment
            if Payment.objects.filter(method=Method.MPESA, receipt=receipt.trans_id).exists():
                continue
            payment.receipt = receipt.trans_id
            payment.amount_received = receipt.amount
            payment.result_code = "offline-matched"
            payment.result_message = f"Offline M-Pesa code {typed.code} matched with the C2B register."
            payment.save(update_fields=["receipt", "amount_received", "result_code", "result_message", "updated_at"])
            receipt.state, receipt.payment, receipt.match_rule = ReceiptState.MATCHED, payment, MatchRule.CODE
            receipt.matched_at, receipt.shift_id = timezone.now(), payment.sale.shift_id
            receipt.save(update_fields=["state", "payment", "match_rule", "matched_at", "shift"])
            typed.confirmed_at = timezone.now()
            if receipt.amount != payment.amount:
                typed.note = f"M-Pesa says {receipt.amount} was paid; the till recorded {payment.amount}."
            typed.save(update_fields=["confirmed_at", "note"])
            offline = OfflineSale.objects.select_for_update().get(pk=typed.offline_sale_id)
            if not offline.mpesa_codes.filter(confirmed_at__isnull=True).exists():
                offline.unconfirmed_mpesa = False
                offline.notes = f"{offline.notes}\nM-Pesa {typed.code} confirmed by the C2B register.".strip()
                if typed.note:
                    offline.notes += f" {typed.note}"
                else:
                    offline.needs_attention = offline.price_changed or offline.negative_stock or offline.late_shift
                offline.save(update_fields=["unconfirmed_mpesa", "notes", "needs_attention"])
            done += 1
    return done


def hand_over_refused(till, *, cashier, body, error) -> RefusedOfflineSale:
    """Keep a sale the server refused, as the till sent it (idempotent per client_uuid). It stays until a
    manager resolves it; the till then stops counting it as unsynced."""
    client_uuid = _device((body or {}).get("client_uuid"))
    if OfflineSale.objects.filter(client_uuid=client_uuid).exists():
        raise ServiceError(gettext("This sale was accepted: nothing to hand over."), field="client_uuid", code="accepted")
    refused, _ = RefusedOfflineSale.objects.get_or_create(
        client_uuid=client_uuid, defaults={"till": till, "cashier": cashier, "body": body, "error": error or {}})
    return refused


@transaction.atomic
def resolve_refused(refused, *, user, resolution) -> RefusedOfflineSale:
    if not user.has_perm("tills.review_offlinesale"):
        raise ServiceError(gettext("Only a manager may resolve refused offline sales."), field="sale", code="not_allowed")
    if not (resolution or "").strip():
        raise ServiceError(gettext("Say how it was settled."), field="resolution", code="required")
    refused = RefusedOfflineSale.objects.select_for_update().get(pk=refused.pk)
    refused.resolved_at, refused.resolved_by, refused.resolution = timezone.now(), user, resolution.strip()[:300]
    refused.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return refused


# --- manager review ----------------------------------------------------------------------------------------

@transaction.atomic
def mark_reviewed(offline_sale, *, user) -> OfflineSale:
    """A manager looked at a flagged offline sale (counted the stock, matched the code, accepted the price)."""
    if not user.has_perm("tills.review_offlinesale"):
        raise ServiceError(gettext("Only a manager may review offline sales."), field="sale", code="not_allowed")
    offline_sale = OfflineSale.objects.select_for_update().get(pk=offline_sale.pk)
    offline_sale.needs_attention = False
    offline_sale.reviewed_at = timezone.now()
    offline_sale.reviewed_by = user
    offline_sale.save(update_fields=["needs_attention", "reviewed_at", "reviewed_by"])
    return offline_sale


def negative_stock_explained():
    """Product ids taken below zero by offline sales a manager has not reviewed yet (check_books accepts
    their negative stock until then)."""
    return set(OfflineSale.objects.filter(needs_attention=True, negative_stock=True)
               .values_list("sale__items__product_id", flat=True))


def offline_receipt_gaps():
    """Each till's offline receipts that reached the server are 1..n with no gap (the till uses its
    numbers in order and the outbox sends them in order)."""
    problems = []
    for till in Till.objects.all():
        numbers = list(OfflineSale.objects.filter(till=till).order_by("number").values_list("number", flat=True))
        if numbers and numbers[-1] != len(numbers):
            missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))[:10]
            problems.append(f"receipts: till {till.code} offline numbers miss {missing}")
    return problems


# --- catalogue for the till --------------------------------------------------------------------------------

CATALOGUE_FIELDS = ("id", "name", "sku", "barcode", "plu", "price", "tax_rate", "unit", "is_active", "updated_at")
CURSOR_OVERLAP = timedelta(seconds=5)


def parse_cursor(value):
    """'<iso time>|<id>' -> (time, id); '' -> the beginning."""
    if not value:
        return None
    try:
        when, pk = value.rsplit("|", 1)
        parsed = parse_datetime(when)
        if parsed is None:
            raise ValueError
        return parsed, int(pk)
    except (ValueError, TypeError):
        raise ServiceError(gettext("Bad cursor: start again without one."), field="cursor", code="bad_cursor") from None


def catalogue_changes(cursor="", limit=2000):
    """Products changed after `cursor`, oldest first: (rows, next_cursor, done). Inactive products are
    included so the till drops them. The last page's cursor never passes now - CURSOR_OVERLAP, so a product
    saved by a transaction that committed late is sent again rather than missed (rows are upserts)."""
    limit = max(1, min(int(limit), 5000))
    start = parse_cursor(cursor)
    rows = Product.objects.order_by("updated_at", "id")
    if start:
        rows = rows.filter(Q(updated_at__gt=start[0]) | Q(updated_at=start[0], id__gt=start[1]))
    rows = list(rows.values(*CATALOGUE_FIELDS)[:limit])
    done = len(rows) < limit
    if rows:
        last = rows[-1]
        when, pk = last["updated_at"], last["id"]
        cutoff = timezone.now() - CURSOR_OVERLAP
        if done and when > cutoff:
            when, pk = cutoff, 0
        next_cursor = f"{when.isoformat()}|{pk}"
    else:
        next_cursor = cursor
    return rows, next_cursor, done


def pricing_rules(user) -> dict:
    """The server's pricing rules the offline till applies to price a cart exactly as
    pos.sales.services.price_cart does: the cashier's ONE discount cap on a sale (None when this user is
    not capped) and the cash rounding line. Sent with every catalogue page, so a till follows a change of
    settings the next time it is online."""
    capped = sales.discount_cap_applies(user)
    return {
        "currency": settings.CURRENCY,
        "cap_percent": str(settings.CASHIER_MAX_DISCOUNT_PERCENT) if capped else None,
        "rounding_step": str(sales.rounding_step()),
        "rounding_rule": settings.CASH_ROUNDING_RULE,
        "piece_unit": Unit.PIECE,  # sold in whole pieces only
    }


def money_or_error(value, field):
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceError(gettext("%(field)s: enter an amount.") % {"field": field}, field=field, code="invalid_amount") from None
    if not amount.is_finite():
        raise ServiceError(gettext("%(field)s: enter an amount.") % {"field": field}, field=field, code="invalid_amount")
    return amount
