"""What the C2B validation and confirmation URLs do.

Every request is stored raw first, in its own transaction, before the token is checked or the body is
parsed, so nothing Daraja sent is ever lost. A request whose URL token is not the shop's secret
(C2B_URL_TOKEN) is kept and ignored. A confirmation enters the register once per TransID: a duplicate
changes nothing. The answers are exactly what Daraja expects.
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from pos.c2b.models import (
    C2BNotification,
    MatchRule,
    NotificationKind,
    NotificationOutcome,
    ReceiptState,
    ReceivedPayment,
    Source,
)
from pos.core.money import to_money
from pos.payments.gateways.base import redact
from pos.payments.models import Method, Payment
from pos.sales.models import Shift, ShiftStatus

log = logging.getLogger(__name__)
NAIROBI = ZoneInfo("Africa/Nairobi")

ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}
CONFIRMED = {"ResultCode": 0, "ResultDesc": "Success"}
# Daraja's validation refusal codes.
INVALID_MSISDN, INVALID_ACCOUNT, INVALID_AMOUNT, OTHER_ERROR = "C2B00011", "C2B00012", "C2B00013", "C2B00016"
HEX64 = set("0123456789abcdef")


def validation_answer(code="0"):
    return dict(ACCEPTED) if code == "0" else {"ResultCode": code, "ResultDesc": "Rejected"}


def confirmation_answer():
    return dict(CONFIRMED)


@dataclass
class ReceivedNotification:
    notification: C2BNotification
    answer: dict
    receipt: ReceivedPayment | None = None


def token_ok(token) -> bool:
    secret = settings.C2B_URL_TOKEN
    return bool(secret) and bool(token) and hmac.compare_digest(str(secret).encode(), str(token).encode())


def receive_notification(kind, body: bytes, headers: dict, source_ip=None, token=None) -> ReceivedNotification:
    """Handle one request to a C2B URL (`kind`: validation or confirmation) and give Daraja's answer."""
    notification = _store_raw(kind, body, headers, source_ip)
    answer = validation_answer() if kind == NotificationKind.VALIDATION else confirmation_answer()
    receipt = None
    if not token_ok(token):
        log.warning("C2B %s %s without the URL token (from %s): stored and ignored", kind, notification.pk,
                    source_ip)
        _finish(notification, NotificationOutcome.FORGED, "The URL token is missing or wrong.")
        return ReceivedNotification(notification, answer)
    if kind == NotificationKind.PULL:
        _finish(notification, NotificationOutcome.RECEIVED, "Pull Transactions notice (kept for the record).")
        return ReceivedNotification(notification, answer)
    try:
        data = json.loads(body or b"null")
        if not isinstance(data, dict) or not str(data.get("TransID") or "").strip():
            raise ValueError("not a C2B body: TransID missing")
        amount = _amount(data.get("TransAmount"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        _finish(notification, NotificationOutcome.MALFORMED, str(exc))
        if kind == NotificationKind.VALIDATION:
            answer = validation_answer(OTHER_ERROR)
        return ReceivedNotification(notification, answer)
    trans_id = str(data["TransID"]).strip().upper()[:40]
    if kind == NotificationKind.VALIDATION:
        code, reason = _validate(data, amount)
        answer = validation_answer(code)
        _finish(notification, NotificationOutcome.ACCEPTED if code == "0" else NotificationOutcome.REFUSED, reason,
                trans_id=trans_id)
        return ReceivedNotification(notification, answer)
    receipt, created = record_receipt(data, amount, source=Source.CONFIRMATION)
    _finish(notification, NotificationOutcome.STORED if created else NotificationOutcome.DUPLICATE,
            "" if created else "This TransID is already in the register: nothing changed.", trans_id=trans_id,
            receipt=receipt)
    if created and receipt.state == ReceiptState.UNMATCHED:
        from pos.c2b.services.matching import auto_match

        auto_match(receipt)
        receipt.refresh_from_db()
    return ReceivedNotification(notification, answer, receipt)


def _store_raw(kind, body, headers, source_ip):
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body or "")
    with transaction.atomic():
        return C2BNotification.objects.create(kind=kind, raw_body=text, headers=redact(dict(headers or {})),
                                              source_ip=source_ip or None)


def _finish(notification, outcome, reason="", trans_id="", receipt=None):
    C2BNotification.objects.filter(pk=notification.pk).update(
        outcome=outcome, reason=reason[:300], trans_id=trans_id, receipt=receipt,
        token_ok=outcome != NotificationOutcome.FORGED)
    notification.refresh_from_db()


def _amount(value) -> Decimal:
    try:
        amount = to_money(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"TransAmount is not an amount: {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"TransAmount must be positive: {value!r}")
    return amount


def _validate(data, amount):
    """Validation (before M-Pesa takes the money): refuse a paybill payment whose account number names no
    sale waiting for payment, when C2B_VALIDATE_ACCOUNT is on."""
    if not settings.C2B_VALIDATE_ACCOUNT or not _is_paybill(data):
        return "0", ""
    from pos.c2b.services.matching import sales_named_by

    if not sales_named_by(str(data.get("BillRefNumber") or "")):
        return INVALID_ACCOUNT, f"No sale waiting for payment has the account number {data.get('BillRefNumber')!r}."
    return "0", ""


def _is_paybill(data) -> bool:
    kind = str(data.get("TransactionType") or "").lower().replace(" ", "")
    return kind in ("paybill", "customerpaybillonline") or (not kind and bool(data.get("BillRefNumber")))


def parse_trans_time(value):
    """Daraja's TransTime (YYYYMMDDHHmmss, Nairobi time) as an aware datetime, None when unreadable."""
    try:
        return datetime.strptime(str(value).strip()[:14], "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except (TypeError, ValueError):
        return None


def msisdn_kind(msisdn: str) -> str:
    value = (msisdn or "").strip().lower()
    if len(value) == 64 and set(value) <= HEX64:
        return "sha256"
    if value.isdigit():
        return "number"
    return "masked" if value else ""


def phone_matches(msisdn: str, phone: str) -> bool | None:
    """Whether an M-Pesa MSISDN (a number, a SHA-256 hex digest of it, or masked like 2547******49) is
    `phone` (2547XXXXXXXX); None when it cannot tell."""
    value, phone = (msisdn or "").strip(), (phone or "").strip()
    if not value or not phone:
        return None
    kind = msisdn_kind(value)
    if kind == "number":
        return value[-9:] == phone[-9:]
    if kind == "sha256":
        return any(hashlib.sha256(form.encode()).hexdigest() == value.lower()
                   for form in (phone, "0" + phone[-9:], "+" + phone))
    visible = [(i, c) for i, c in enumerate(value) if c.isdigit()]
    if len(value) != len(phone) or not visible:
        return None
    return all(phone[i] == c for i, c in visible)


def arrival_shift():
    """The shift money arriving now is counted in: the open shift when exactly one is open."""
    shifts = list(Shift.objects.filter(status=ShiftStatus.OPEN).values_list("pk", flat=True)[:2])
    return shifts[0] if len(shifts) == 1 else None


def record_receipt(data: dict, amount: Decimal, *, source, flag_reason="") -> tuple[ReceivedPayment, bool]:
    """Put one M-Pesa receipt in the register, once per TransID. Returns (receipt, created); an existing
    receipt is returned unchanged. A receipt already on an STK Push payment is linked to it at once."""
    trans_id = str(data.get("TransID")).strip().upper()[:40]
    existing = ReceivedPayment.objects.filter(trans_id=trans_id).first()
    if existing:
        return existing, False
    fields = dict(
        trans_type=str(data.get("TransactionType") or "")[:40], trans_time=parse_trans_time(data.get("TransTime")),
        amount=amount, shortcode=str(data.get("BusinessShortCode") or "")[:20],
        bill_ref=str(data.get("BillRefNumber") or "").strip()[:100],
        invoice_number=str(data.get("InvoiceNumber") or "")[:100], msisdn=str(data.get("MSISDN") or "")[:100],
        first_name=str(data.get("FirstName") or "")[:100], middle_name=str(data.get("MiddleName") or "")[:100],
        last_name=str(data.get("LastName") or "")[:100], org_balance=str(data.get("OrgAccountBalance") or "")[:40],
        third_party_trans_id=str(data.get("ThirdPartyTransID") or "")[:100], source=source, raw=data,
        shift_id=arrival_shift(), flagged=bool(flag_reason), flag_reason=flag_reason[:300],
    )
    stk = Payment.objects.filter(method=Method.MPESA, receipt=trans_id).first()
    if stk is not None:
        fields.update(state=ReceiptState.MATCHED, payment=stk, match_rule=MatchRule.STK, matched_at=timezone.now(),
                      shift_id=stk.sale.shift_id, flagged=False, flag_reason="")
    try:
        with transaction.atomic():
            return ReceivedPayment.objects.create(trans_id=trans_id, **fields), True
    except IntegrityError:
        return ReceivedPayment.objects.get(trans_id=trans_id), False


def purge_old_notifications(now=None, batch=5000) -> int:
    """Delete raw C2B notices older than C2B_NOTIFICATION_KEEP_DAYS (scheduled daily): forged floods,
    duplicates, validations and notices whose money is in the books. Kept whatever their age: a notice not
    processed to the end or malformed (a person looks at it), and the notice of money still unmatched.
    The register of received money (ReceivedPayment) is never purged. Returns the number deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.C2B_NOTIFICATION_KEEP_DAYS)
    keep = (Q(outcome=NotificationOutcome.MALFORMED)
            | (Q(outcome=NotificationOutcome.RECEIVED) & ~Q(kind=NotificationKind.PULL))
            | Q(receipt__state=ReceiptState.UNMATCHED))
    old = C2BNotification.objects.filter(received_at__lt=cutoff).exclude(keep).order_by("pk")
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        deleted += C2BNotification.objects.filter(pk__in=ids).delete()[0]
    return deleted
