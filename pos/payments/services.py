"""Payment operations. Every state change of a Payment or a Refund happens here, checked against
TRANSITIONS / REFUND_TRANSITIONS, under a row lock, in one transaction.

Calls to a provider are never made while a row is locked: a payment is written `pending`, the
provider is called, and the answer is applied in a second short transaction. `apply_result` is the
single place that completes, fails or expires a payment; after a completion the sale is settled
(pos.sales.services.settle_sale), so a sale is paid exactly when completed payments cover it.
"""

import hmac
import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.core.idempotency import create_once, fingerprint, replay
from pos.core.money import ZERO, to_money
from pos.core.permissions import can
from pos.core.transitions import StateMachine
from pos.payments.gateways.base import (
    CallbackError,
    GatewayError,
    GatewayResult,
    get_gateway,
    normalise_msisdn,
    redact,
    whole_shillings,
)
from pos.payments.models import (
    Attention,
    CallbackOutcome,
    Method,
    Payment,
    PaymentCallback,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from pos.sales.models import SaleStatus
from pos.sales.services import lock_sale, settle_locked_sale, settle_sale

log = logging.getLogger(__name__)

P = PaymentStatus
TRANSITIONS = {
    P.PENDING: {P.PROCESSING, P.COMPLETED, P.FAILED, P.CANCELLED, P.EXPIRED},
    P.PROCESSING: {P.COMPLETED, P.FAILED, P.CANCELLED, P.EXPIRED},
    # A success the provider confirms after we gave up is money received: recorded, never lost.
    P.FAILED: {P.COMPLETED},
    P.CANCELLED: {P.COMPLETED},
    P.EXPIRED: {P.COMPLETED},
}
R = RefundStatus
REFUND_TRANSITIONS = {
    R.PENDING_APPROVAL: {R.PROCESSING, R.COMPLETED, R.REJECTED},
    R.PROCESSING: {R.COMPLETED, R.FAILED},
}
MOBILE = {Method.MPESA, Method.AIRTEL}
IN_FLIGHT = [P.PENDING, P.PROCESSING]
LIVE_REFUNDS = [R.PENDING_APPROVAL, R.PROCESSING, R.COMPLETED]
WAITING = {"pending", P.PROCESSING}
MAX_VERIFY_INTERVAL = 600
BUSY_MESSAGE = ("M-Pesa is still handling an earlier request for this phone. Ask the customer to wait up to "
                "2 minutes, then try again.")


@dataclass
class Outcome:
    """What applying a provider's answer did: `kind` is a CallbackOutcome value (received = nothing
    final yet)."""

    kind: str
    reason: str = ""
    payment: Payment | None = None
    refund: Refund | None = None


PAYMENT_STATES = StateMachine("Payment", TRANSITIONS)
REFUND_STATES = StateMachine("Refund", REFUND_TRANSITIONS)


def _move(obj, target, table):
    (PAYMENT_STATES if table is TRANSITIONS else REFUND_STATES).move(obj, target)


def _event(payment, action, *, request=None, response=None, error=""):
    PaymentEvent.objects.create(payment=payment, action=action[:40], request=request or {},
                                response=response or {}, error=error[:300])


def _lock(payment) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment.pk)


def _money(value, field):
    try:
        return to_money(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ServiceError("Enter an amount such as 150 or 150.50.", field=field, code="invalid_amount") from None


# --- initiate -------------------------------------------------------------------------------------
def initiate_payment(sale, method, amount, phone_number="", user=None, idempotency_key="", amount_tendered=None):
    """Start paying `amount` of a sale waiting for payment. Returns (payment, created).

    Cash completes at once (pay_cash). Mobile money and card: the payment is written `pending`, the
    provider is asked (outside any lock) and the payment becomes `processing` with the provider's
    references, or `failed` with its message. The amount may not exceed what is still due minus
    payments already in flight. With an idempotency key a retry returns the first payment; the same
    key with another body is a ConflictError.
    """
    amount = _money(amount, "amount")
    tendered = None if amount_tendered in (None, "") else _money(amount_tendered, "amount_tendered")
    if method not in Method.values:
        raise ServiceError(f"Unknown payment method {method!r}.", field="method", code="invalid_method")
    key = idempotency_key or None
    request_hash = fingerprint([sale.pk, method, str(amount), phone_number or "", str(tendered)])
    if method == Method.CASH:
        return create_once(Payment, key, request_hash,
                           lambda: _pay_cash(sale, amount, tendered, user, key, request_hash))
    payment, created = create_once(
        Payment, key, request_hash,
        lambda: _create_pending(sale, method, amount, phone_number, user, key, request_hash))
    return (_send(payment) if created else payment), created


@transaction.atomic
def pay_cash(sale, *, amount_tendered, user, amount=None):
    """Take cash for a sale waiting for payment. `amount` is the part of the sale paid in cash (split
    tender; default: all that is still due); what the customer hands over beyond it is change."""
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT:
        raise ServiceError(f"Sale {sale.receipt_number} is not waiting for payment.", field="sale", code="not_payable")
    in_flight = sale.payments.filter(status__in=IN_FLIGHT).aggregate(s=Sum("amount"))["s"] or ZERO
    due = sale.total - sale.paid_amount - in_flight
    tendered = to_money(amount_tendered)
    applied = to_money(amount) if amount is not None else min(tendered, due)
    if amount is None and applied < due:
        # what stays due is whole shillings (M-Pesa and card take no cents): extra cents are change
        applied = due - (due - applied).to_integral_value(rounding=ROUND_CEILING)
    elif 0 < due - applied != (due - applied).to_integral_value():
        raise ServiceError(f"Take whole shillings: {due - applied} would stay due, and M-Pesa or a card cannot take "
                           "cents.", field="amount", code="cents_left")
    if applied <= 0:
        raise ServiceError("The cash amount must be greater than zero.", field="amount_tendered")
    if applied > due:
        waiting = f" ({in_flight} is waiting on payments in progress)" if in_flight else ""
        raise ServiceError(f"Only {max(due, ZERO)} is still due on this sale{waiting}.", field="amount",
                           code="overpayment")
    if tendered < applied:
        raise ServiceError(f"Cash given ({tendered}) is less than the amount to pay ({applied}).",
                           field="amount_tendered", code="not_enough_cash")
    payment = Payment.objects.create(
        sale=sale, method=Method.CASH, amount=applied, currency=settings.CURRENCY, status=P.COMPLETED,
        amount_tendered=tendered, change_given=tendered - applied, created_by=user, completed_at=timezone.now(),
        amount_received=applied,
    )
    settle_locked_sale(sale)
    return payment


@transaction.atomic
def _pay_cash(sale, amount, tendered, user, key, request_hash):
    payment = pay_cash(sale, amount_tendered=tendered if tendered is not None else amount, user=user, amount=amount)
    payment.idempotency_key, payment.request_hash = key, request_hash
    payment.save(update_fields=["idempotency_key", "request_hash"])
    return payment


@transaction.atomic
def _create_pending(sale, method, amount, phone_number, user, key, request_hash):
    phone = phone_number or ""
    if method in MOBILE:
        phone = normalise_msisdn(phone_number)
        whole_shillings(amount)
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT:
        raise ServiceError(f"Sale {sale.receipt_number} is not waiting for payment.", field="sale",
                           code="not_payable")
    if amount <= 0:
        raise ServiceError("The amount must be greater than zero.", field="amount", code="invalid_amount")
    in_flight = sale.payments.filter(status__in=IN_FLIGHT).aggregate(s=Sum("amount"))["s"] or ZERO
    due = sale.total - sale.paid_amount - in_flight
    if amount > due:
        waiting = f" ({in_flight} is waiting on payments in progress)" if in_flight else ""
        raise ServiceError(f"Only {max(due, ZERO)} is still due on this sale{waiting}.", field="amount",
                           code="overpayment")
    return Payment.objects.create(sale=sale, method=method, amount=amount, currency=settings.CURRENCY,
                                  phone_number=phone, created_by=user, idempotency_key=key, request_hash=request_hash)


def _send(payment):
    """Ask the provider to collect a pending payment and record its answer."""
    error = result = None
    try:
        result = get_gateway(payment.method).initiate(payment)
    except (GatewayError, ServiceError) as exc:
        error = exc
    busy = _provider_busy(error, result)
    with transaction.atomic():
        payment = _lock(payment)
        if payment.status != P.PENDING:  # a callback or the cashier got there first
            return payment
        if error is not None or busy or result.status not in WAITING:
            code = getattr(error, "code", "") or (result.result_code if result else "")
            message = BUSY_MESSAGE if busy else (getattr(error, "message", "") or str(error or "")
                                                 or result.result_message)
            _fail_at_start(payment, result, code, message)
        else:
            _move(payment, P.PROCESSING, TRANSITIONS)
            payment.provider_reference = result.provider_reference
            payment.provider_secondary_reference = result.secondary_reference
            payment.redirect_url = result.redirect_url
            payment.result_code, payment.result_message = result.result_code[:40], result.result_message[:300]
            payment.next_verify_at = timezone.now() + timedelta(seconds=settings.PAYMENT_VERIFY_AFTER_SECONDS)
            payment.save()
    if busy:
        raise ServiceError(BUSY_MESSAGE, field="phone_number", code="provider_busy")
    return payment


def _fail_at_start(payment, result, code, message):
    target = result.status if result is not None and result.status in TRANSITIONS[P.PENDING] else P.FAILED
    if target == P.COMPLETED:  # a provider never completes on the initiating call; do not trust it
        target = P.FAILED
    _move(payment, target, TRANSITIONS)
    payment.result_code, payment.result_message = str(code)[:40], str(message)[:300]
    payment.save()


def _provider_busy(error, result) -> bool:
    """M-Pesa code 17 or "a transaction is already in process": the customer must wait ~2 minutes."""
    code = getattr(error, "code", "") or (result.result_code if result else "")
    message = (getattr(error, "message", "") or (result.result_message if result else "")).lower()
    return str(code) == "17" or "already in process" in message


# --- apply a provider's answer ----------------------------------------------------------------------
def apply_result(payment, result: GatewayResult, source: str) -> Outcome:
    """Apply what the provider says about a payment, idempotently, under the payment's row lock.

    Completion needs the full amount in the install's currency and a receipt no other payment used;
    otherwise the money received is recorded on the payment, flagged for a person, and the payment
    is not completed. A success arriving after the payment was cancelled or expired (or its sale
    cancelled) is still recorded as completed money, flagged for refund: it is never lost.
    """
    with transaction.atomic():
        payment = _lock(payment)
        if result.status in WAITING:
            outcome = Outcome(CallbackOutcome.RECEIVED, "The provider has no final answer yet.")
        elif result.status == P.COMPLETED:
            outcome = _complete(payment, result)
        else:
            outcome = _finish_unpaid(payment, result)
        outcome.payment = payment
        _event(payment, f"{source}: {outcome.kind}", response=redact(result.raw), error=outcome.reason)
    return outcome


def _money_problem(payment, result):
    if result.currency and result.currency.upper() != payment.currency.upper():
        return Attention.CURRENCY_MISMATCH, f"Provider reports {result.currency}, expected {payment.currency}."
    if result.amount is not None and to_money(result.amount) < payment.amount:
        return Attention.UNDERPAID, f"Provider reports {to_money(result.amount)}, expected {payment.amount}."
    return None


def _flag(payment, attention, note):
    payment.attention, payment.attention_note = attention, note[:300]


def _complete(payment, result):
    if payment.status == P.COMPLETED:
        if result.receipt and not payment.receipt:
            payment.receipt = result.receipt
            payment.save(update_fields=["receipt", "updated_at"])
        return Outcome(CallbackOutcome.DUPLICATE, "The payment is already completed.")
    problem = _money_problem(payment, result)
    if problem is None and result.receipt and Payment.objects.filter(
            method=payment.method, receipt=result.receipt).exclude(pk=payment.pk).exists():
        problem = Attention.RECEIPT_CONFLICT, f"Receipt {result.receipt} already belongs to another payment."
    if problem:
        _flag(payment, *problem)
        if result.amount is not None:
            payment.amount_received = to_money(result.amount)
        payment.save()
        return Outcome(CallbackOutcome.REJECTED, problem[1])
    was = payment.status
    _move(payment, P.COMPLETED, TRANSITIONS)
    payment.receipt = result.receipt or payment.receipt
    payment.provider_reference = payment.provider_reference or result.provider_reference
    payment.provider_secondary_reference = payment.provider_secondary_reference or result.secondary_reference
    payment.amount_received = to_money(result.amount) if result.amount is not None else payment.amount
    payment.result_code = (result.result_code or payment.result_code)[:40]
    payment.result_message = (result.result_message or payment.result_message)[:300]
    payment.completed_at, payment.next_verify_at = timezone.now(), None
    payment.save()
    sale = settle_sale(payment.sale)
    _flag_excess(payment, sale, was)
    return Outcome(CallbackOutcome.APPLIED, "" if was == P.PROCESSING else f"Late success (payment was {was}).")


def _flag_excess(payment, sale, was):
    """Money beyond what the sale needed is recorded and flagged for a refund, never dropped."""
    if sale.status == SaleStatus.CANCELLED:
        _flag(payment, Attention.REFUND_DUE,
              f"Paid {payment.amount_received} after sale {sale.receipt_number} was cancelled: refund it.")
    else:
        excess = max(sale.paid_amount - sale.total, ZERO) + max(payment.amount_received - payment.amount, ZERO)
        if excess <= 0:
            return
        _flag(payment, Attention.OVERPAID,
              f"{excess} more than sale {sale.receipt_number} needed (payment was {was}): refund the excess.")
    payment.save(update_fields=["attention", "attention_note", "updated_at"])


# A gateway reports a charge it refuses to count (too little money, another currency) as failed with
# one of these codes: the money it did take is recorded and flagged.
MISMATCH_CODES = {"amount_too_low": Attention.UNDERPAID, "currency_mismatch": Attention.CURRENCY_MISMATCH}


def _finish_unpaid(payment, result):
    target = result.status if result.status in (P.FAILED, P.CANCELLED, P.EXPIRED) else P.FAILED
    if result.result_code in MISMATCH_CODES and result.amount is not None:
        payment.amount_received = to_money(result.amount)
        _flag(payment, MISMATCH_CODES[result.result_code],
              f"Provider took {to_money(result.amount)} {result.currency}, expected {payment.amount} "
              f"{payment.currency}: refund it.")
    if payment.status == target:
        return Outcome(CallbackOutcome.DUPLICATE, f"The payment is already {target}.")
    if payment.is_final:
        return Outcome(CallbackOutcome.DUPLICATE, f"The payment is already {payment.status}; {target} ignored.")
    _move(payment, target, TRANSITIONS)
    payment.result_code = (result.result_code or payment.result_code)[:40]
    payment.result_message = (result.result_message or target)[:300]
    payment.next_verify_at = None
    payment.save()
    return Outcome(CallbackOutcome.APPLIED)


# --- verify and cancel -----------------------------------------------------------------------------
def verify_payment(payment, now=None) -> Outcome:
    """Ask the provider for the truth about a payment and apply it. A completed or cash payment, or one
    the provider never accepted, has nothing to ask. Counts the attempt and schedules the next one
    with back-off."""
    payment.refresh_from_db()
    if payment.method == Method.CASH or payment.status == P.COMPLETED or not payment.provider_reference:
        return Outcome(CallbackOutcome.DUPLICATE, "Nothing to ask the provider.", payment)
    _count_attempt(payment, now or timezone.now())
    try:
        result = get_gateway(payment.method).verify(payment)
    except GatewayError as exc:
        payment.refresh_from_db()
        return Outcome(CallbackOutcome.RECEIVED, f"Provider not reached: {exc.message}", payment)
    return apply_result(payment, result, "verify")


def _count_attempt(payment, now):
    """Back-off: the next verification waits PAYMENT_VERIFY_AFTER_SECONDS, then twice that, ... (at most
    MAX_VERIFY_INTERVAL)."""
    delay = min(max(settings.PAYMENT_VERIFY_AFTER_SECONDS, 1) * 2 ** payment.verify_attempts, MAX_VERIFY_INTERVAL)
    Payment.objects.filter(pk=payment.pk).update(verify_attempts=F("verify_attempts") + 1,
                                                 next_verify_at=now + timedelta(seconds=delay))


@transaction.atomic
def cancel_payment(payment, *, user, reason="") -> Payment:
    """The cashier gives up on a pending or processing payment. A success the provider reports later
    is still recorded (see apply_result)."""
    payment = _lock(payment)
    if payment.status not in IN_FLIGHT:
        raise ServiceError(f"Only a payment in progress can be cancelled; this one is {payment.status}.",
                           field="status", code="not_cancellable")
    _move(payment, P.CANCELLED, TRANSITIONS)
    payment.result_message = (reason or f"Cancelled by {user}")[:300]
    payment.next_verify_at = None
    payment.save()
    _event(payment, "cancelled", request={"user": str(user), "reason": reason})
    return payment


def verify_stale_payments(now=None) -> dict:
    """Ask the provider about payments left processing past PAYMENT_VERIFY_AFTER_SECONDS (each on its
    back-off schedule); expire those still without an answer after PAYMENT_EXPIRE_AFTER_SECONDS, and
    pending ones that never reached the provider. Safe against a callback arriving at the same time:
    every change goes through apply_result's row lock and state check."""
    now = now or timezone.now()
    verify_cutoff = now - timedelta(seconds=settings.PAYMENT_VERIFY_AFTER_SECONDS)
    expire_cutoff = now - timedelta(seconds=settings.PAYMENT_EXPIRE_AFTER_SECONDS)
    due = (Payment.objects.filter(status=P.PROCESSING).exclude(method=Method.CASH)
           .filter(Q(next_verify_at__lte=now) | Q(next_verify_at__isnull=True, created_at__lte=verify_cutoff))
           .order_by("created_at")[:200])
    counts = {"verified": 0, "completed": 0, "expired": 0}
    for payment in due:
        outcome = verify_payment(payment, now)
        counts["verified"] += 1
        counts["completed"] += outcome.payment.status == P.COMPLETED
        if outcome.payment.status == P.PROCESSING and payment.created_at <= expire_cutoff:
            counts["expired"] += _expire(payment)
    stuck = Payment.objects.filter(status=P.PENDING, created_at__lte=expire_cutoff).exclude(method=Method.CASH)
    for payment in stuck:
        counts["expired"] += _expire(payment)
    return counts


def _expire(payment) -> int:
    seconds = settings.PAYMENT_EXPIRE_AFTER_SECONDS
    result = GatewayResult(status=P.EXPIRED, result_code="timeout",
                           result_message=f"No answer from the provider after {seconds} seconds.")
    return int(apply_result(payment, result, "timeout").kind == CallbackOutcome.APPLIED)


# --- callbacks -------------------------------------------------------------------------------------
@dataclass
class CallbackAnswer:
    http_status: int
    body: dict
    callback: PaymentCallback


PROVIDERS = {"mpesa": Method.MPESA, "airtel": Method.AIRTEL, "card": Method.CARD}


def handle_callback(provider, body: bytes, headers: dict, source_ip=None, token=None, path="") -> CallbackAnswer:
    """Take a provider's callback: store it raw first (its own transaction, so it survives anything
    later), parse it, match it to a payment (M-Pesa: the URL token must be the payment's), check it,
    confirm an unsigned success with the provider, apply it. Always answers with the acknowledgement
    the provider expects (HTTP 200 for rejected ones too, so it stops retrying)."""
    callback = _store_callback(provider, body, headers, source_ip, path)
    gateway = get_gateway(PROVIDERS[provider])
    parsed = None
    try:
        parsed = gateway.parse_callback(body, headers, token)
        outcome = _dispatch(gateway, parsed, token)
    except CallbackError as exc:
        outcome = Outcome(CallbackOutcome.REJECTED, f"Malformed callback: {exc}")
    except (GatewayError, ServiceError) as exc:
        outcome = Outcome(CallbackOutcome.REJECTED, f"Refused: {exc}")
    payment = outcome.payment or (outcome.refund.payment if outcome.refund else None)
    reason = outcome.reason
    if provider == "mpesa" and settings.MPESA_ALLOWED_IPS and source_ip not in settings.MPESA_ALLOWED_IPS:
        # Safaricom's address list is not published officially: note it, do not reject on it.
        log.warning("M-Pesa callback %s from %s, not in MPESA_ALLOWED_IPS", callback.pk, source_ip)
        reason = f"[source {source_ip} not in MPESA_ALLOWED_IPS] {reason}"
    PaymentCallback.objects.filter(pk=callback.pk).update(outcome=outcome.kind, reason=reason[:300],
                                                          payment=payment)
    callback.refresh_from_db()
    http_status, answer = gateway.acknowledgement(parsed)
    return CallbackAnswer(http_status, answer, callback)


def _store_callback(provider, body, headers, source_ip, path):
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    with transaction.atomic():
        return PaymentCallback.objects.create(provider=provider, raw_body=text, headers=redact(dict(headers)),
                                              source_ip=source_ip or None, path=path[:300])


def _dispatch(gateway, parsed, token):
    if parsed.signature_ok is False:
        return Outcome(CallbackOutcome.REJECTED, "Bad signature.")
    if parsed.kind == "refund":
        return _refund_callback(gateway, parsed, token)
    payment = Payment.objects.filter(method=gateway.method, **parsed.lookup).first()
    if payment is None:
        return Outcome(CallbackOutcome.REJECTED, f"Unknown payment {parsed.provider_reference!r}.")
    if gateway.method == Method.MPESA and not _token_ok(payment, token):
        return Outcome(CallbackOutcome.REJECTED, "The callback URL token does not match the payment.")
    if parsed.status == P.COMPLETED:
        outcome = _confirmed_success(gateway, payment, parsed)
    elif parsed.status in WAITING:
        outcome = verify_payment(payment)
    else:
        outcome = apply_result(payment, parsed, "callback")
    outcome.payment = outcome.payment or payment
    return outcome


def _token_ok(payment, token):
    return bool(token) and hmac.compare_digest(str(payment.callback_token), str(token))


def _confirmed_success(gateway, payment, parsed):
    """A success is applied only once the provider's query API confirms it (callbacks are unsigned or
    may be replayed); the callback's amount and currency are checked first."""
    if payment.status == P.COMPLETED and parsed.receipt in ("", payment.receipt):
        return Outcome(CallbackOutcome.DUPLICATE, "The payment is already completed.", payment)
    problem = _money_problem(payment, parsed)
    if problem:
        return Outcome(CallbackOutcome.REJECTED, problem[1], payment)
    try:
        confirmed = gateway.verify(payment)
    except GatewayError as exc:
        return Outcome(CallbackOutcome.RECEIVED, f"Could not confirm with the provider yet: {exc.message}", payment)
    if confirmed.status in WAITING:
        return Outcome(CallbackOutcome.RECEIVED, "The provider has not confirmed the payment yet.", payment)
    if confirmed.status != P.COMPLETED:
        apply_result(payment, confirmed, "verify")
        return Outcome(CallbackOutcome.REJECTED, f"The provider does not confirm this success: it says "
                                                 f"{confirmed.status} ({confirmed.result_code}).", payment)
    return apply_result(payment, _merge(confirmed, parsed), "callback")


def _merge(confirmed, parsed):
    """The provider's confirmed answer, completed with what only the callback carries (e.g. the M-Pesa
    receipt and amount, which STK Query does not return)."""
    return replace(
        confirmed,
        receipt=confirmed.receipt or parsed.receipt,
        amount=confirmed.amount if confirmed.amount is not None else parsed.amount,
        currency=confirmed.currency or parsed.currency,
        phone_number=confirmed.phone_number or parsed.phone_number,
        provider_reference=confirmed.provider_reference or parsed.provider_reference,
        secondary_reference=confirmed.secondary_reference or parsed.secondary_reference,
        result_code=parsed.result_code or confirmed.result_code,
        result_message=parsed.result_message or confirmed.result_message,
        raw={"callback": parsed.raw, "confirmation": confirmed.raw},
    )


def _refund_callback(gateway, parsed, token):
    refund = Refund.objects.select_related("payment").filter(
        payment__method=gateway.method, **parsed.lookup).first()
    if refund is None:
        return Outcome(CallbackOutcome.REJECTED, f"Unknown refund {parsed.provider_reference!r}.")
    if gateway.method == Method.MPESA and not _token_ok(refund.payment, token):
        return Outcome(CallbackOutcome.REJECTED, "The callback URL token does not match the payment.",
                       refund=refund)
    return apply_refund_result(refund, parsed, "callback")


# --- refunds -----------------------------------------------------------------------------------------
def request_refund(payment, amount, reason, user, sale_return=None, idempotency_key="") -> tuple[Refund, bool]:
    """Give money back on a completed payment. Returns (refund, created).

    At most what was paid minus what is already refunded or on its way. Above
    REFUND_APPROVAL_THRESHOLD the refund waits for a manager (approve_refund). Cash is paid out of
    the till and recorded completed at once; mobile money and card go to the provider (processing,
    then completed or failed by its answer)."""
    amount = _money(amount, "amount")
    key = idempotency_key or None
    request_hash = fingerprint([payment.pk, str(amount), reason, getattr(sale_return, "pk", None)])
    if key and (existing := replay(Refund, key, request_hash)):
        return existing, False
    if not (reason or "").strip():
        raise ServiceError("Say why the money is given back.", field="reason", code="required")
    refund, created = create_once(
        Refund, key, request_hash,
        lambda: _create_refund(payment, amount, reason.strip(), user, sale_return, key, request_hash))
    if not created:
        return refund, False
    if refund.status == R.PENDING_APPROVAL and amount <= settings.REFUND_APPROVAL_THRESHOLD:
        refund = _start_refund(refund)
    return refund, True


@transaction.atomic
def _create_refund(payment, amount, reason, user, sale_return, key, request_hash):
    payment = _lock(payment)
    if payment.status != P.COMPLETED:
        raise ServiceError(f"Only a completed payment can be refunded; this one is {payment.status}.",
                           field="payment", code="not_refundable")
    if amount <= 0:
        raise ServiceError("The amount must be greater than zero.", field="amount", code="invalid_amount")
    left = refundable_amount(payment)
    if amount > left:
        raise ServiceError(f"At most {left} can still be refunded on this payment.", field="amount",
                           code="refund_too_large")
    if sale_return is not None:
        _check_return(payment, sale_return, amount)
    if payment.method in MOBILE:
        whole_shillings(amount)
    if payment.method == Method.AIRTEL and amount != payment.amount:
        raise ServiceError("Airtel Money refunds the whole payment only.", field="amount", code="partial_refund")
    return Refund.objects.create(payment=payment, sale_return=sale_return, amount=amount, reason=reason[:200],
                                 requested_by=user, idempotency_key=key, request_hash=request_hash)


def _check_return(payment, sale_return, amount):
    if sale_return.sale_id != payment.sale_id:
        raise ServiceError("This return belongs to another sale.", field="sale_return", code="wrong_sale")
    taken = sale_return.refunds.filter(status__in=LIVE_REFUNDS).aggregate(s=Sum("amount"))["s"] or ZERO
    if amount > sale_return.amount - taken:
        raise ServiceError(f"At most {max(sale_return.amount - taken, ZERO)} is still owed on this return.",
                           field="amount", code="refund_too_large")


def _start_refund(refund) -> Refund:
    """Pay an approved refund: cash at once; otherwise ask the provider (outside any lock)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        if refund.status != R.PENDING_APPROVAL:
            return refund
        if refund.payment.method == Method.CASH:
            _move(refund, R.COMPLETED, REFUND_TRANSITIONS)
            refund.completed_at = timezone.now()
            refund.result_message = "Paid out of the till."
            refund.save()
            return refund
        _move(refund, R.PROCESSING, REFUND_TRANSITIONS)
        refund.save()
    try:
        result = get_gateway(refund.payment.method).refund(refund.payment, refund.amount, refund)
    except (GatewayError, ServiceError) as exc:
        message = getattr(exc, "message", str(exc))
        result = GatewayResult(status=P.FAILED, result_code=getattr(exc, "code", ""), result_message=message)
    return apply_refund_result(refund, result, "refund").refund


def apply_refund_result(refund, result: GatewayResult, source: str) -> Outcome:
    """Apply the provider's answer about a refund (idempotent, under the refund's row lock)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        refund.provider_reference = refund.provider_reference or result.provider_reference
        target = R.COMPLETED if result.status == P.COMPLETED else R.FAILED
        if result.status in WAITING:
            refund.save()
            outcome = Outcome(CallbackOutcome.RECEIVED, "The provider has not finished the refund yet.")
        elif refund.status in (R.COMPLETED, R.FAILED):
            outcome = Outcome(CallbackOutcome.DUPLICATE, f"The refund is already {refund.status}.")
        else:
            _move(refund, target, REFUND_TRANSITIONS)
            refund.result_code = result.result_code[:40]
            refund.result_message = result.result_message[:300]
            refund.completed_at = timezone.now() if target == R.COMPLETED else None
            refund.save()
            outcome = Outcome(CallbackOutcome.APPLIED)
        outcome.refund = refund
        _event(refund.payment, f"refund {refund.pk} {source}: {outcome.kind}", response=redact(result.raw),
               error=outcome.reason)
    return outcome


def _decide(refund, user):
    if not can(user, "payments.approve_refund"):
        raise ServiceError("Only a manager or an admin can approve or reject refunds.", field="refund",
                           code="not_allowed")
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != R.PENDING_APPROVAL:
        raise ServiceError(f"This refund is {refund.get_status_display().lower()}, not waiting for approval.",
                           field="status", code="not_pending")
    refund.decided_at = timezone.now()
    return refund


def approve_refund(refund, *, user) -> Refund:
    """A manager approves a refund above the threshold; it is then paid (cash) or sent to the provider."""
    with transaction.atomic():
        refund = _decide(refund, user)
        refund.approved_by = user
        refund.save(update_fields=["approved_by", "decided_at"])
    return _start_refund(refund)


@transaction.atomic
def reject_refund(refund, *, user, reason="") -> Refund:
    refund = _decide(refund, user)
    _move(refund, R.REJECTED, REFUND_TRANSITIONS)
    refund.rejected_by = user
    refund.result_message = (reason or "Rejected")[:300]
    refund.save()
    return refund


def refundable_amount(payment) -> Decimal:
    """What was paid (received, for an overpaid payment) minus refunds done, on their way or waiting."""
    taken = payment.refunds.filter(status__in=LIVE_REFUNDS).aggregate(s=Sum("amount"))["s"] or ZERO
    return max((payment.amount_received or payment.amount) - taken, ZERO)


# --- money received without a request of ours (M-Pesa C2B: the customer paid the till) ---------------
@transaction.atomic
def record_received_payment(sale, *, method, amount_received, receipt, user=None, phone_number="",
                            result_message="") -> Payment:
    """Record money the provider already took (e.g. an M-Pesa C2B receipt) as a completed payment of a
    sale waiting for payment, and settle the sale. The caller holds whatever makes `receipt` its own
    (pos.c2b locks its register row first); the unique (method, receipt) constraint refuses a second use.

    Applies at most what is still due (minus payments in flight); more money than that is recorded as
    `amount_received` and flagged OVERPAID for the manager (refund or keep as a deposit)."""
    from django.db import IntegrityError

    from pos.core.errors import ConflictError

    received = _money(amount_received, "amount")
    if received <= 0:
        raise ServiceError("The amount received must be greater than zero.", field="amount", code="invalid_amount")
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT:
        raise ServiceError(f"Sale {sale.receipt_number} is not waiting for payment.", field="sale",
                           code="not_payable")
    in_flight = sale.payments.filter(status__in=IN_FLIGHT).aggregate(s=Sum("amount"))["s"] or ZERO
    due = sale.total - sale.paid_amount - in_flight
    if due <= 0:
        raise ServiceError(f"Nothing is left to pay on sale {sale.receipt_number} (a payment may still be in "
                           "progress: cancel it first).", field="sale", code="nothing_due")
    if Payment.objects.filter(method=method, receipt=receipt).exists():
        raise ConflictError(f"Receipt {receipt} is already recorded on another payment.", field="receipt",
                            code="receipt_used")
    payment = Payment(sale=sale, method=method, amount=min(received, due), currency=sale.currency,
                      phone_number=(phone_number or "")[:20], receipt=receipt, amount_received=received,
                      created_by=user, result_message=(result_message or "Received")[:300])
    _move(payment, P.COMPLETED, TRANSITIONS)
    payment.completed_at = timezone.now()
    if received > payment.amount:
        _flag(payment, Attention.OVERPAID, f"{received - payment.amount} more than sale {sale.receipt_number} "
                                           "needed: refund the excess or keep it as the customer's deposit.")
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        raise ConflictError(f"Receipt {receipt} is already recorded on another payment.", field="receipt",
                            code="receipt_used") from None
    settle_locked_sale(sale)
    _event(payment, "received", response={"receipt": receipt, "amount": str(received)})
    return payment
