"""Taking payments: cash, and mobile money / card through a provider; applying the provider's answers.

Calls to a provider are never made while a row is locked: a payment is written `pending` with every
reference needed to match it later (our own reference, the per-payment callback token), the provider
is called, and the answer is applied in a second short transaction. An answer we never saw leaves the
payment `unconfirmed`, never `failed`. `apply_result` is the single place that completes, fails or
expires a payment; after a completion the sale is settled (pos.sales.services.settle_sale).
"""

from dataclasses import replace
from decimal import ROUND_CEILING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from pos.core.errors import ServiceError
from pos.core.idempotency import create_once, fingerprint
from pos.core.money import ZERO, to_money
from pos.core.permissions import can
from pos.payments.gateways.base import (
    GatewayError,
    GatewayResult,
    get_gateway,
    normalise_msisdn,
    redact,
    whole_shillings,
)
from pos.payments.models import BUSY_MESSAGE, Attention, CallbackOutcome, Method, Payment
from pos.payments.services.common import (
    IN_FLIGHT,
    MOBILE,
    TRANSITIONS,
    WAITING,
    Outcome,
    P,
    _event,
    _lock,
    _money,
    _move,
    backoff,
    brought_in,
    enqueue,
    in_flight_amount,
    short,
    verify_after,
)
from pos.sales.models import SaleStatus
from pos.sales.services import lock_sale, settle_locked_sale, settle_sale


# --- initiate -------------------------------------------------------------------------------------
def initiate_payment(sale, method, amount, phone_number="", user=None, idempotency_key="", amount_tendered=None):
    """Start paying `amount` of a sale waiting for payment. Returns (payment, created).

    Cash completes at once (pay_cash). Mobile money and card: the payment is written `pending` with our
    references, the provider is asked (outside any lock) and the payment becomes `processing` with the
    provider's references, `failed` on a definite refusal, or `unconfirmed` when its answer was lost.
    The amount may not exceed what is still due minus payments in flight. With an idempotency key a
    retry returns the first payment; the same key with another body is a ConflictError.
    """
    amount = _money(amount, "amount")
    tendered = None if amount_tendered in (None, "") else _money(amount_tendered, "amount_tendered")
    if method not in Method.values:
        raise ServiceError(gettext("Unknown payment method %(method)r.") % {"method": method}, field="method",
                           code="invalid_method")
    key = idempotency_key or None
    request_hash = payment_fingerprint(sale.pk, method, amount, phone_number, tendered)
    if method == Method.CASH:
        return create_once(Payment, key, request_hash,
                           lambda: _pay_cash(sale, amount, tendered, user, key, request_hash))
    payment, created = create_once(
        Payment, key, request_hash,
        lambda: _create_pending(sale, method, amount, phone_number, user, key, request_hash))
    if created:
        # The provider is asked by the task worker, never on the till's request (a slow or hung provider
        # must not hold the web workers every till shares). The till polls the payment.
        enqueue("pos.payments.tasks.send_payment", payment.pk)
        payment.refresh_from_db()
    return payment, created


def payment_fingerprint(sale_id, method, amount, phone_number, tendered) -> str:
    """What an idempotency key of a payment stands for (a retry must describe the same payment)."""
    return fingerprint([sale_id, method, str(amount), phone_number or "", str(tendered)])


def _due(sale, what="payments in progress"):
    in_flight = in_flight_amount(sale)
    return sale.total - sale.paid_amount - in_flight, in_flight


def _refuse_overpayment(due, in_flight):
    if in_flight:
        message = gettext("Only %(due)s is still due on this sale (%(waiting)s is waiting on payments in "
                          "progress).") % {"due": max(due, ZERO), "waiting": in_flight}
    else:
        message = gettext("Only %(due)s is still due on this sale.") % {"due": max(due, ZERO)}
    raise ServiceError(message, field="amount", code="overpayment")


def pay_cash(sale, *, amount_tendered, user, amount=None, idempotency_key=""):
    """Take cash for a sale waiting for payment. `amount` is the part of the sale paid in cash (split
    tender; default: all that is still due, minus payments in flight); what the customer hands over
    beyond it is change. With `idempotency_key` a retry returns the first payment."""
    if idempotency_key:
        tendered = _money(amount_tendered, "amount_tendered")
        applied = None if amount is None else _money(amount, "amount")
        request_hash = payment_fingerprint(sale.pk, "cash", applied, "", tendered)
        payment, _ = create_once(Payment, idempotency_key, request_hash,
                                 lambda: _pay_cash(sale, applied, tendered, user, idempotency_key, request_hash))
        return payment
    return _take_cash(sale, amount_tendered=amount_tendered, user=user, amount=amount)


@transaction.atomic
def _take_cash(sale, *, amount_tendered, user, amount=None, key=None, request_hash=""):
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT:
        raise ServiceError(gettext("Sale %(number)s is not waiting for payment.") % {"number": sale.receipt_number},
                           field="sale", code="not_payable")
    due, in_flight = _due(sale)
    payment = cash_payment(sale, due, in_flight, amount_tendered=amount_tendered, user=user, amount=amount, key=key,
                           request_hash=request_hash)
    payment.save()
    settle_locked_sale(sale)
    return payment


def cash_on_new_sale(sale, amount, amount_tendered=None, *, user, idempotency_key=""):
    """The cash of a sale being written in the caller's transaction (pos.sales.services.write_sale), taken
    as initiate_payment(sale, "cash", amount, amount_tendered=...) takes it once the sale is saved: the
    same checks, and the same fingerprint under its key, so a retry of the request replays it.
    Returns (payment not saved, request_hash(sale_id) to store once the sale has its id)."""
    amount = _money(amount, "amount")
    tendered = None if amount_tendered in (None, "") else _money(amount_tendered, "amount_tendered")
    payment = cash_payment(sale, sale.total, ZERO, amount_tendered=amount if tendered is None else tendered,
                           amount=amount, user=user, key=idempotency_key or None)
    return payment, lambda sale_id: payment_fingerprint(sale_id, Method.CASH, amount, "", tendered)


def cash_payment(sale, due, in_flight, *, amount_tendered, user, amount=None, key=None, request_hash="") -> Payment:
    """The completed cash payment (not saved) that pays `amount` of `due` (default: what the tendered
    cash covers, leaving whole shillings due) with `amount_tendered` handed over; refused (ServiceError)
    when the sale cannot take it. `in_flight`: what payments in progress already hold of the sale."""
    tendered = _money(amount_tendered, "amount_tendered")
    applied = _money(amount, "amount") if amount is not None else min(tendered, due)
    if amount is None and 0 < applied < due:
        # what stays due is whole shillings (M-Pesa and card take no cents): extra cents are change
        applied = due - (due - applied).to_integral_value(rounding=ROUND_CEILING)
    elif 0 < due - applied != (due - applied).to_integral_value():
        raise ServiceError(gettext("Take whole shillings: %(left)s would stay due, and M-Pesa or a card cannot take "
                                   "cents.") % {"left": due - applied}, field="amount", code="cents_left")
    if applied <= 0:
        if due <= 0 and in_flight:
            _refuse_overpayment(due, in_flight)
        raise ServiceError(gettext("The cash amount must be greater than zero."), field="amount_tendered")
    if applied > due:
        _refuse_overpayment(due, in_flight)
    if tendered < applied:
        raise ServiceError(gettext("Cash given (%(tendered)s) is less than the amount to pay (%(applied)s).")
                           % {"tendered": tendered, "applied": applied},
                           field="amount_tendered", code="not_enough_cash")
    return Payment(
        sale=sale, method=Method.CASH, amount=applied, currency=settings.CURRENCY, status=P.COMPLETED,
        amount_tendered=tendered, change_given=tendered - applied, created_by=user, completed_at=timezone.now(),
        amount_received=applied, idempotency_key=key, request_hash=request_hash,
    )


def _pay_cash(sale, amount, tendered, user, key, request_hash):
    return _take_cash(sale, amount_tendered=tendered if tendered is not None else amount, user=user, amount=amount,
                      key=key, request_hash=request_hash)


@transaction.atomic
def _create_pending(sale, method, amount, phone_number, user, key, request_hash):
    phone = phone_number or ""
    if method in MOBILE:
        phone = normalise_msisdn(phone_number)
        whole_shillings(amount)
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT:
        raise ServiceError(gettext("Sale %(number)s is not waiting for payment.") % {"number": sale.receipt_number},
                           field="sale", code="not_payable")
    if amount <= 0:
        raise ServiceError(gettext("The amount must be greater than zero."), field="amount", code="invalid_amount")
    due, in_flight = _due(sale)
    if amount > due:
        _refuse_overpayment(due, in_flight)
    payment = Payment(sale=sale, method=method, amount=amount, currency=settings.CURRENCY, phone_number=phone,
                      created_by=user, idempotency_key=key, request_hash=request_hash,
                      next_verify_at=timezone.now() + verify_after())
    # Everything needed to match the provider's answer is stored BEFORE it is asked: our own reference
    # (Airtel transaction id, card tx_ref) and the per-payment callback token (M-Pesa CallBackURL).
    for field, value in get_gateway(method).prepare(payment).items():
        setattr(payment, field, value)
    payment.save()
    return payment


def send_payment(payment_id) -> Payment | None:
    """The task: ask the provider to collect a pending payment, at most once. The claim (`sent_at`, set
    under the row lock before the call) makes a second delivery of the task, or the re-check, a no-op."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None or payment.method == Method.CASH or payment.status != P.PENDING or payment.sent_at:
            return None
        payment.sent_at = timezone.now()
        payment.save(update_fields=["sent_at", "updated_at"])
    return _send(payment)


def _send(payment):
    """Ask the provider to collect a pending payment and record its answer. M-Pesa still busy with an
    earlier push to the phone fails the payment with code `provider_busy` (the till waits, then retries)."""
    error = result = None
    try:
        result = get_gateway(payment.method).initiate(payment)
    except (GatewayError, ServiceError) as exc:
        error = exc
    busy = _provider_busy(error, result)
    with transaction.atomic():
        payment = _lock(payment)
        if result is not None and result.provider_reference and not payment.provider_reference:
            payment.provider_reference = short(result.provider_reference, 100)
        if payment.status != P.PENDING:  # a callback or the cashier got there first
            if result is not None and result.provider_reference:
                payment.provider_secondary_reference = (payment.provider_secondary_reference
                                                        or short(result.secondary_reference, 100))
                payment.save(update_fields=["provider_reference", "provider_secondary_reference", "updated_at"])
            return payment
        if getattr(error, "unknown", False):
            _move(payment, P.UNCONFIRMED, TRANSITIONS)
            payment.result_code = short(error.code, 40)
            payment.result_message = short(f"{payment.get_method_display()} did not answer clearly "
                                           f"({error.message}); waiting for it to confirm.", 300)
            payment.next_verify_at = timezone.now() + verify_after()
            payment.save()
        elif error is not None or busy or result.status not in WAITING:
            code = "provider_busy" if busy else (getattr(error, "code", "") or (result.result_code if result else ""))
            message = BUSY_MESSAGE if busy else (getattr(error, "message", "") or str(error or "")
                                                 or result.result_message)
            _fail_at_start(payment, result, code, message)
        else:
            _move(payment, P.PROCESSING, TRANSITIONS)
            payment.provider_reference = short(result.provider_reference or payment.provider_reference, 100)
            payment.provider_secondary_reference = short(result.secondary_reference, 100)
            payment.redirect_url = short(result.redirect_url, 500)
            payment.result_code, payment.result_message = short(result.result_code, 40), short(result.result_message,
                                                                                              300)
            payment.next_verify_at = timezone.now() + verify_after()
            payment.save()
    return payment


def _fail_at_start(payment, result, code, message):
    target = result.status if result is not None and result.status in TRANSITIONS[P.PENDING] else P.FAILED
    if target in (P.COMPLETED, P.UNCONFIRMED, P.PROCESSING):  # never trust a completion on the initiating call
        target = P.FAILED
    _move(payment, target, TRANSITIONS)
    payment.result_code, payment.result_message = short(code, 40), short(message, 300)
    payment.next_verify_at = None
    payment.save()


def _provider_busy(error, result) -> bool:
    """M-Pesa code 17 or "a transaction is already in process": the customer must wait ~2 minutes."""
    code = getattr(error, "code", "") or (result.result_code if result else "")
    message = (getattr(error, "message", "") or (result.result_message if result else "")).lower()
    return str(code) == "17" or "already in process" in message


# --- apply a provider's answer ----------------------------------------------------------------------
def apply_result(payment, result: GatewayResult, source: str) -> Outcome:
    """Apply what the provider says about a payment, idempotently, under the sale's and the payment's
    row locks (sale first, as every payment and refund operation does).

    Completion needs the full amount in the install's currency and a receipt no other payment used;
    otherwise the money received is recorded on the payment, flagged for a person, and the payment
    is not completed. A success arriving after the payment was cancelled, failed or expired (or its sale
    cancelled) is still recorded as completed money, flagged for refund: it is never lost.
    """
    with transaction.atomic():
        lock_sale(payment.sale if hasattr(payment, "sale") else payment)
        payment = _lock(payment)
        if result.status in WAITING:
            if result.receipt and not payment.reported_receipt and payment.method == Method.MPESA:
                payment.reported_receipt = short(result.receipt, 100)
                payment.save(update_fields=["reported_receipt", "updated_at"])
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
    receipt = short(result.receipt or payment.reported_receipt, 100)
    if payment.status == P.COMPLETED:
        if receipt and not payment.receipt:
            payment.receipt = receipt
            payment.save(update_fields=["receipt", "updated_at"])
        return Outcome(CallbackOutcome.DUPLICATE, "The payment is already completed.")
    problem = _money_problem(payment, result)
    if problem is None and receipt and Payment.objects.filter(
            method=payment.method, receipt=receipt).exclude(pk=payment.pk).exists():
        problem = Attention.RECEIPT_CONFLICT, f"Receipt {receipt} already belongs to another payment."
    if problem:
        _flag(payment, *problem)
        if result.amount is not None:
            payment.amount_received = to_money(result.amount)
        payment.save()
        return Outcome(CallbackOutcome.REJECTED, problem[1])
    was = payment.status
    _move(payment, P.COMPLETED, TRANSITIONS)
    payment.receipt = receipt or payment.receipt
    payment.provider_reference = payment.provider_reference or short(result.provider_reference, 100)
    payment.provider_secondary_reference = payment.provider_secondary_reference or short(result.secondary_reference,
                                                                                         100)
    payment.amount_received = to_money(result.amount) if result.amount is not None else payment.amount
    payment.result_code = short(result.result_code or payment.result_code, 40)
    payment.result_message = short(result.result_message or payment.result_message, 300)
    payment.completed_at, payment.next_verify_at = timezone.now(), None
    payment.save()
    sale = settle_sale(payment.sale)
    _flag_excess(payment, sale, was)
    late = was not in (P.PROCESSING, P.PENDING, P.UNCONFIRMED)
    return Outcome(CallbackOutcome.APPLIED, f"Late success (payment was {was})." if late else "")


def excess_of(payment, sale):
    """Money a completed payment brought beyond what its sale needed: all of it when the sale was
    cancelled; otherwise what the sale is overpaid by (at most this payment's amount) plus anything
    the provider took above the payment's amount."""
    received = brought_in(payment)
    if sale.status == SaleStatus.CANCELLED:
        return received
    over_sale = min(max(sale.paid_amount - sale.total, ZERO), payment.amount)
    return over_sale + max(received - payment.amount, ZERO)


def _flag_excess(payment, sale, was):
    """Money beyond what the sale needed is recorded and flagged for a refund, never dropped."""
    excess = excess_of(payment, sale)
    if excess <= 0:
        return
    if sale.status == SaleStatus.CANCELLED:
        _flag(payment, Attention.REFUND_DUE,
              f"Paid {excess} after sale {sale.receipt_number} was cancelled: refund it.")
    else:
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
    if payment.is_final:
        # A definite answer about a payment we already gave up on: nothing more to ask.
        payment.next_verify_at = None
        payment.save()
        if payment.status == target:
            return Outcome(CallbackOutcome.DUPLICATE, f"The payment is already {target}.")
        return Outcome(CallbackOutcome.DUPLICATE, f"The payment is already {payment.status}; {target} ignored.")
    _move(payment, target, TRANSITIONS)
    payment.result_code = short(result.result_code or payment.result_code, 40)
    payment.result_message = short(result.result_message or target, 300)
    payment.next_verify_at = None
    payment.save()
    return Outcome(CallbackOutcome.APPLIED)


# --- verify and cancel -----------------------------------------------------------------------------
def verify_later(payment) -> bool:
    """Have the task worker ask the provider about `payment` (the API's and the admin's "verify now"):
    a hung provider holds a worker process, never a web worker the tills share. False when the broker
    could not take it: the minute re-check will ask."""
    return enqueue("pos.payments.tasks.verify_payment", payment.pk)


def verify_payment(payment, now=None) -> Outcome:
    """Ask the provider for the truth about a payment and apply it. A completed or cash payment, or one
    without a reference to ask by, has nothing to ask. Counts the attempt and schedules the next one
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
    if result.status == P.COMPLETED and payment.method == Method.MPESA and payment.reported_receipt:
        result = replace(result, receipt=result.receipt or payment.reported_receipt)
    return apply_result(payment, result, "verify")


def _count_attempt(payment, now):
    Payment.objects.filter(pk=payment.pk).update(verify_attempts=payment.verify_attempts + 1,
                                                 next_verify_at=now + backoff(payment.verify_attempts))


@transaction.atomic
def cancel_payment(payment, *, user, reason="") -> Payment:
    """The cashier gives up on a payment in flight. If the provider may already have acted on it, it is
    still asked until its window closes: a success reported later is recorded (see apply_result)."""
    payment = _lock(payment)
    if payment.status not in IN_FLIGHT:
        raise ServiceError(gettext("Only a payment in progress can be cancelled; this one is %(status)s.")
                           % {"status": payment.get_status_display().lower()},
                           field="status", code="not_cancellable")
    was = payment.status
    _move(payment, P.CANCELLED, TRANSITIONS)
    payment.result_message = (reason or f"Cancelled by {user}")[:300]
    payment.next_verify_at = timezone.now() + verify_after()
    payment.save()
    _event(payment, "cancelled", request={"user": str(user), "reason": reason, "was": was})
    return payment


@transaction.atomic
def close_unconfirmed_payment(payment, *, user, note="") -> Payment:
    """A manager closes a payment the provider never answered clearly, after checking the provider's
    portal that no money came in: it becomes failed (the sale can then be paid otherwise or cancelled).
    A success reported later is still recorded and flagged (apply_result)."""
    if not can(user, "payments.approve_refund"):
        raise ServiceError(gettext("Only a manager or an admin can close an unconfirmed payment."), field="payment",
                           code="not_allowed")
    lock_sale(payment.sale)
    payment = _lock(payment)
    if payment.status not in IN_FLIGHT:
        raise ServiceError(gettext("Only a payment waiting for an answer can be closed; this one is %(status)s.")
                           % {"status": payment.get_status_display().lower()},
                           field="status", code="not_unconfirmed")
    _move(payment, P.FAILED, TRANSITIONS)
    payment.result_code = "closed_by_manager"
    payment.result_message = short(f"Closed by {user} after checking the provider: {note or 'no money received'}",
                                   300)
    payment.attention, payment.attention_note, payment.next_verify_at = "", "", None
    payment.save()
    _event(payment, "closed by manager", request={"user": str(user), "note": note})
    return payment


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
        raise ServiceError(gettext("The amount received must be greater than zero."), field="amount",
                           code="invalid_amount")
    sale = lock_sale(sale)
    if sale.status != SaleStatus.PENDING_PAYMENT:
        raise ServiceError(gettext("Sale %(number)s is not waiting for payment.") % {"number": sale.receipt_number},
                           field="sale", code="not_payable")
    due, _ = _due(sale)
    if due <= 0:
        raise ServiceError(gettext("Nothing is left to pay on sale %(number)s (a payment may still be in progress: "
                                   "cancel it first).") % {"number": sale.receipt_number}, field="sale",
                           code="nothing_due")
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
