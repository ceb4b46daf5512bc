"""Reconciliation with Daraja's Pull Transactions: the truth about what the shortcode received.

For every receipt M-Pesa lists that the shop never recorded (its C2B confirmation or STK callback never
arrived): an STK Push payment still unconfirmed with the same amount, a matching phone and a time just
before gets it (only when exactly one payment fits that receipt and exactly one receipt fits that
payment); anything else goes into the register, flagged for a person. Nothing is guessed.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from pos.c2b.models import MatchRule, ReceiptState, ReceivedPayment, ReconciliationRun, Source
from pos.c2b.services.receiving import parse_trans_time, phone_matches, record_receipt
from pos.core.money import to_money
from pos.payments.gateways.base import GatewayError, GatewayResult, get_gateway
from pos.payments.models import Method, Payment, PaymentStatus
from pos.payments.services import apply_result

log = logging.getLogger(__name__)
NAIROBI = ZoneInfo("Africa/Nairobi")
MAX_HOURS = 48
MAX_PAGES = 200
STUCK = [PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.EXPIRED, PaymentStatus.COMPLETED]
STK_SLACK = timedelta(minutes=2)  # the receipt's time may be a little before our own clock's created_at


def _daraja_time(moment) -> str:
    return moment.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M:%S")


def _pull_time(value):
    """trxDate of a pulled transaction: ISO 8601 ("2020-08-05T10:13:00.000Z") or YYYYMMDDHHmmss."""
    text = str(value or "").strip()
    if text.isdigit():
        return parse_trans_time(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=NAIROBI)


def _rows(answer):
    """Daraja's `Response` is a list of pages (lists) of transactions, or a flat list."""
    rows = []
    for item in answer.get("Response") or []:
        rows.extend(x for x in (item if isinstance(item, list) else [item]) if isinstance(x, dict))
    return rows


def pull(start, end):
    """Every transaction Daraja lists for the shortcode between start and end, page by page."""
    gateway, rows, offset = get_gateway("mpesa"), [], 0
    for page in range(1, MAX_PAGES + 1):
        body = {"ShortCode": str(settings.C2B_SHORTCODE), "StartDate": _daraja_time(start),
                "EndDate": _daraja_time(end), "OffSetValue": str(offset)}
        status, answer = gateway.post(None, "c2b.pull", "/pulltransactions/v1/query", body, safe=True)
        if status != 200 or str(answer.get("ResponseCode", "")) not in ("1000", "0"):
            raise GatewayError(answer.get("errorCode") or answer.get("ResponseCode") or f"http_{status}",
                               answer.get("errorMessage") or answer.get("ResponseMessage") or "refused")
        found = _rows(answer)
        if not found:
            return rows, page
        rows.extend(found)
        offset += len(found)
    return rows, MAX_PAGES


def _transaction(row):
    """A pulled row as the fields of a C2B body (so the register stores both kinds alike)."""
    def get(*names):
        lowered = {str(k).lower(): v for k, v in row.items()}
        return next((lowered[n.lower()] for n in names if lowered.get(n.lower()) not in (None, "")), "")

    try:
        amount = to_money(Decimal(str(get("amount", "TransAmount"))))
    except (InvalidOperation, ValueError):
        amount = None
    moment = _pull_time(get("trxDate", "TransTime"))
    data = {"TransID": str(get("transactionId", "TransID")).strip().upper(),
            "TransactionType": str(get("transactiontype", "TransactionType")),
            "TransTime": moment.astimezone(NAIROBI).strftime("%Y%m%d%H%M%S") if moment else "",
            "TransAmount": str(amount) if amount is not None else "", "BusinessShortCode": settings.C2B_SHORTCODE,
            "BillRefNumber": str(get("billreference", "BillRefNumber")), "MSISDN": str(get("msisdn", "MSISDN")),
            "FirstName": str(get("sender", "FirstName")), "pulled": row}
    return data, amount, moment


def _stk_candidates(amount, moment, msisdn):
    if amount is None or moment is None:
        return []
    expire = timedelta(seconds=settings.PAYMENT_EXPIRE_AFTER_SECONDS)
    rows = Payment.objects.filter(method=Method.MPESA, receipt="", status__in=STUCK, amount=amount,
                                  created_at__gte=moment - expire - STK_SLACK, created_at__lte=moment + STK_SLACK)
    # Unconfirmed, given up for lack of an answer, or completed by STK Query (which never carries the receipt).
    rows = rows.filter(Q(status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.COMPLETED])
                       | Q(status=PaymentStatus.EXPIRED, result_code="timeout"))
    return [p for p in rows.exclude(provider_reference="") if phone_matches(msisdn, p.phone_number) is not False]


def reconcile(hours=None, now=None) -> ReconciliationRun:
    """Pull the last `hours` (C2B_RECONCILE_HOURS, at most 48) and record what the shop missed."""
    now = now or timezone.now()
    hours = max(1, min(int(hours or settings.C2B_RECONCILE_HOURS), MAX_HOURS))
    run = ReconciliationRun.objects.create(period_start=now - timedelta(hours=hours), period_end=now)
    try:
        rows, run.pages = pull(run.period_start, run.period_end)
    except GatewayError as exc:
        run.error = f"{exc.code}: {exc.message}"[:300]
        run.finished_at = timezone.now()
        run.save()
        log.warning("M-Pesa reconciliation failed: %s", run.error)
        return run
    run.listed = len(rows)
    link_stk_receipts()
    unknown = []
    for row in rows:
        data, amount, moment = _transaction(row)
        if not data["TransID"]:
            continue
        ReceivedPayment.objects.filter(trans_id=data["TransID"]).update(seen_at_safaricom=now)
        if ReceivedPayment.objects.filter(trans_id=data["TransID"]).exists() or Payment.objects.filter(
                method=Method.MPESA, receipt=data["TransID"]).exists():
            continue
        unknown.append((data, amount, moment, _stk_candidates(amount, moment, data["MSISDN"])))
    claims = {}
    for _, _, _, candidates in unknown:
        for payment in candidates:
            claims[payment.pk] = claims.get(payment.pk, 0) + 1
    for data, amount, _moment, candidates in unknown:
        _record_missing(run, data, amount, candidates, claims, now)
    run.finished_at = timezone.now()
    run.save()
    return run


def _record_missing(run, data, amount, candidates, claims, now):
    if amount is None or amount <= 0:
        log.warning("Pulled transaction %s has no usable amount: %r", data["TransID"], data["pulled"])
        return
    if len(candidates) == 1 and claims[candidates[0].pk] == 1:
        payment = candidates[0]
        apply_result(payment, GatewayResult(
            status=PaymentStatus.COMPLETED, receipt=data["TransID"], amount=amount, currency="KES", result_code="0",
            result_message="Receipt found by Pull Transactions reconciliation (the callback never arrived).",
            raw={"pulled": data["pulled"]}), "reconcile")
        payment.refresh_from_db()
        if payment.receipt == data["TransID"]:
            receipt, _ = record_receipt(data, amount, source=Source.PULL)
            ReceivedPayment.objects.filter(pk=receipt.pk).update(match_rule=MatchRule.RECONCILED,
                                                                 seen_at_safaricom=now)
            run.stk_completed += 1
            return
        reason = f"M-Pesa lists it; STK payment #{payment.pk} fits it but could not take it: {payment.attention_note}"
    elif candidates:
        ids = ", ".join(f"#{p.pk}" for p in candidates)
        reason = (f"M-Pesa lists it and the shop never recorded it. It could be STK payment {ids} "
                  f"(same amount, phone and time): check which by hand.")
    else:
        reason = "M-Pesa lists it but its confirmation never reached the shop: match it to a sale or a deposit."
    receipt, created = record_receipt(data, amount, source=Source.PULL, flag_reason=reason)
    ReceivedPayment.objects.filter(pk=receipt.pk).update(seen_at_safaricom=now)
    run.new_receipts += int(created)
    run.flagged += int(created)


def link_stk_receipts():
    """A paybill may notify the C2B URLs of STK Push payments too: such a receipt, stored before its STK
    callback completed the payment, is linked to that payment (it is in the books), never matched twice."""
    linked = 0
    for receipt in ReceivedPayment.objects.filter(state=ReceiptState.UNMATCHED).filter(
            Exists(Payment.objects.filter(method=Method.MPESA, receipt=OuterRef("trans_id")).exclude(receipt=""))):
        payment = Payment.objects.get(method=Method.MPESA, receipt=receipt.trans_id)
        linked += ReceivedPayment.objects.filter(pk=receipt.pk, state=ReceiptState.UNMATCHED).update(
            state=ReceiptState.MATCHED, payment=payment, match_rule=MatchRule.STK, matched_at=timezone.now(),
            shift=payment.sale.shift_id, flagged=False, flag_reason="")
    return linked


def receipts_missing_from_books():
    """check_books: receipts Safaricom listed (Pull Transactions) that the books still do not account for."""
    rows = (ReceivedPayment.objects.filter(seen_at_safaricom__isnull=False, state=ReceiptState.UNMATCHED)
            .exclude(Exists(Payment.objects.filter(method=Method.MPESA, receipt=OuterRef("trans_id")).exclude(receipt="")))
            .order_by("received_at").values_list("trans_id", "amount", "trans_time", "flag_reason"))
    return [f"c2b: M-Pesa receipt {trans_id} of {amount} ({_when(when)}) is at Safaricom but not in the books"
            f"{': ' + reason if reason else ''}" for trans_id, amount, when, reason in rows]


def _when(moment):
    return moment.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M") if moment else "time unknown"
