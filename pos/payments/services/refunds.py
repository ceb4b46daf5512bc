"""Refunds: decided under the sale's row lock, paid once, never guessed.

Lock order, everywhere: the sale, then the return, then the payment, then the refund. Every decision
about what is still owed (request, approval) happens under the sale's lock, so concurrent refunds of
one return on different payments of a split-tender sale cannot exceed what the return owes, and two
managers approving one refund have one winner. The provider is called after the lock is released.
A provider answer we did not see leaves the refund `processing`: the scheduled re-check asks the
provider (M-Pesa Transaction Status, Airtel enquiry, Flutterwave refund status) until it is definite.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from pos.core.errors import ServiceError
from pos.core.idempotency import create_once, fingerprint, replay
from pos.core.money import ZERO, to_money
from pos.core.permissions import can
from pos.payments.gateways.base import (
    GatewayError,
    GatewayResult,
    get_gateway,
    redact,
    whole_shillings,
)
from pos.payments.models import (
    CallbackOutcome,
    Method,
    Payment,
    Refund,
    RefundAttention,
)
from pos.payments.services.common import (
    LIVE_REFUNDS,
    MOBILE,
    REFUND_TRANSITIONS,
    WAITING,
    Outcome,
    P,
    R,
    _event,
    _money,
    _move,
    backoff,
    brought_in,
    enqueue,
    short,
    verify_after,
)
from pos.sales.models import Sale, SaleReturn
from pos.sales.services import lock_sale


# --- the one definition of "refundable" (used by the services and by check_books) ------------------
def refunds_taken(queryset) -> Decimal:
    return queryset.filter(status__in=LIVE_REFUNDS).aggregate(s=Sum("amount"))["s"] or ZERO


def refundable_amount(payment) -> Decimal:
    """What the payment brought in minus refunds done, on their way or waiting."""
    return max(brought_in(payment) - refunds_taken(payment.refunds.all()), ZERO)


def return_owed(sale_return) -> Decimal:
    """What a return still owes the customer: its amount minus refunds done, on their way or waiting."""
    return max(sale_return.amount - refunds_taken(sale_return.refunds.all()), ZERO)


def live_refund_sum(**filters):
    """A subquery: the sum of live refunds matching `filters` (OuterRef allowed), 0 when none."""
    rows = (Refund.objects.filter(status__in=LIVE_REFUNDS, **filters).order_by().values(*filters.keys())
            .annotate(s=Sum("amount")).values("s")[:1])
    return Coalesce(Subquery(rows), Decimal(0))


def over_refunded_returns():
    """Returns whose live refunds exceed what they owe: [(return, refunded)]."""
    rows = (SaleReturn.objects.select_related("sale").annotate(refunded=live_refund_sum(sale_return=OuterRef("pk")))
            .order_by("pk"))
    return [(r, to_money(r.refunded)) for r in rows if to_money(r.refunded) > r.amount]


def over_refunded_payments():
    """Payments whose live refunds exceed what they brought in: [(payment, refunded)]."""
    rows = Payment.objects.select_related("sale").annotate(refunded=live_refund_sum(payment=OuterRef("pk")))
    return [(p, to_money(p.refunded)) for p in rows.filter(refunded__gt=0) if to_money(p.refunded) > brought_in(p)]


# --- request -----------------------------------------------------------------------------------------
def request_refund(payment, amount, reason, user, sale_return=None, idempotency_key="",
                   drawer_shift=None) -> tuple[Refund, bool]:
    """Give money back on a completed payment. Returns (refund, created).

    At most what the payment brought in, and what the return (if any) still owes, minus refunds done,
    on their way or waiting. When the sale's refunds (this one included) add up to more than
    REFUND_APPROVAL_THRESHOLD the refund waits for another manager (approve_refund). Cash is paid out of
    the till and recorded completed at once; mobile money and card go to the provider.

    `drawer_shift`: the money goes back in cash out of that open shift's drawer, whatever the payment's
    method (a customer who paid by M-Pesa or card takes cash back at the till). It still counts against
    the payment it refunds, so one payment is never given back twice, and in that shift's cash refunds."""
    amount = _money(amount, "amount")
    key = idempotency_key or None
    request_hash = fingerprint([payment.pk, str(amount), reason, getattr(sale_return, "pk", None),
                                getattr(drawer_shift, "pk", None)])
    if key and (existing := replay(Refund, key, request_hash)):
        return existing, False
    if not (reason or "").strip():
        raise ServiceError(gettext("Say why the money is given back."), field="reason", code="required")
    refund, created = create_once(
        Refund, key, request_hash,
        lambda: _create_refund(payment, amount, reason.strip(), user, sale_return, key, request_hash, drawer_shift))
    if created and refund.status == R.PROCESSING:
        refund = _hand_to_worker(refund)
    return refund, created


def _open_drawer(shift):
    """`shift` locked (close_shift waits for the refund), and open: a closed drawer pays nothing out."""
    from pos.sales.models import Shift, ShiftStatus

    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.status != ShiftStatus.OPEN:
        raise ServiceError(gettext("Shift #%(shift)s is closed: cash comes out of an open till's drawer.")
                           % {"shift": shift.pk}, field="shift", code="shift_closed")
    return shift


def _create_refund(payment, amount, reason, user, sale_return, key, request_hash, drawer_shift=None):
    with transaction.atomic():
        sale = lock_sale(payment.sale)
        if sale_return is not None:
            sale_return = SaleReturn.objects.select_for_update().get(pk=sale_return.pk)
        if drawer_shift is not None:
            drawer_shift = _open_drawer(drawer_shift)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != P.COMPLETED:
            raise ServiceError(gettext("Only a completed payment can be refunded; this one is %(status)s.")
                               % {"status": payment.get_status_display().lower()},
                               field="payment", code="not_refundable")
        if amount <= 0:
            raise ServiceError(gettext("The amount must be greater than zero."), field="amount", code="invalid_amount")
        left = refundable_amount(payment)
        if amount > left:
            raise ServiceError(gettext("At most %(left)s can still be refunded on this payment.") % {"left": left},
                               field="amount",
                               code="refund_too_large")
        if sale_return is not None:
            if sale_return.sale_id != payment.sale_id:
                raise ServiceError(gettext("This return belongs to another sale."), field="sale_return", code="wrong_sale")
            owed = return_owed(sale_return)
            if amount > owed:
                raise ServiceError(gettext("At most %(owed)s is still owed on this return.") % {"owed": owed},
                                   field="amount",
                                   code="refund_too_large")
        if payment.method in MOBILE and drawer_shift is None:
            whole_shillings(amount)
            if not payment.receipt:
                raise ServiceError(gettext("This %(method)s payment has no provider receipt to refund against.")
                                   % {"method": payment.get_method_display()}, field="payment", code="no_receipt")
        if payment.method == Method.AIRTEL and amount != payment.amount and drawer_shift is None:
            raise ServiceError(gettext("Airtel Money refunds the whole payment only."), field="amount",
                               code="partial_refund")
        sale_refunds = refunds_taken(Refund.objects.filter(payment__sale=sale))
        refund = Refund.objects.create(payment=payment, sale_return=sale_return, amount=amount, reason=reason[:200],
                                       drawer_shift=drawer_shift, requested_by=user, idempotency_key=key,
                                       request_hash=request_hash)
        if sale_refunds + amount <= settings.REFUND_APPROVAL_THRESHOLD:
            _start(refund)
        return refund


def _start(refund):
    """Decided (under the sale's lock): cash is paid out of the till now; others go to the provider
    (processing) once the lock is released."""
    if refund.paid_in_cash:
        _move(refund, R.COMPLETED, REFUND_TRANSITIONS)
        refund.completed_at = timezone.now()
        refund.provider_amount = refund.amount
        refund.result_message = (f"Paid in cash out of shift #{refund.drawer_shift_id}'s drawer."
                                 if refund.drawer_shift_id else "Paid out of the till.")
    else:
        _move(refund, R.PROCESSING, REFUND_TRANSITIONS)
        refund.next_check_at = timezone.now() + verify_after()
    refund.save()


def _hand_to_worker(refund) -> Refund:
    """The provider is asked by the task worker, never on the till's request."""
    enqueue("pos.payments.tasks.send_refund", refund.pk)
    refund.refresh_from_db()
    return refund


def send_refund(refund_id) -> Refund | None:
    """The task: ask the provider to pay an approved refund, at most once (`sent_at` is claimed under the
    row lock before the call; a second delivery of the task or the re-check is a no-op)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(pk=refund_id).first()
        if refund is None or refund.status != R.PROCESSING or refund.sent_at:
            return None
        refund.sent_at = timezone.now()
        refund.save(update_fields=["sent_at"])
    return _send_refund(Refund.objects.select_related("payment").get(pk=refund_id))


def _send_refund(refund) -> Refund:
    """Ask the provider to pay an approved refund (outside any lock). A definite refusal fails it; an
    answer we did not see leaves it processing, checked again by the scheduled re-check."""
    try:
        result = get_gateway(refund.payment.method).refund(refund.payment, refund.amount, refund)
    except GatewayError as exc:
        if exc.unknown:
            result = GatewayResult(status="pending", result_code=exc.code,
                                   result_message=f"No clear answer from the provider ({exc.message}); checking.")
        else:
            result = GatewayResult(status=P.FAILED, result_code=exc.code, result_message=exc.message)
    except ServiceError as exc:
        result = GatewayResult(status=P.FAILED, result_code=exc.code, result_message=exc.message)
    return apply_refund_result(refund, result, "refund").refund


# --- the provider's answers ----------------------------------------------------------------------
def apply_refund_result(refund, result: GatewayResult, source: str) -> Outcome:
    """Apply the provider's answer about a refund (idempotent, under the refund's row lock). A success
    after a recorded failure completes it, flagged; an amount other than the refund's is flagged."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        refund.provider_reference = refund.provider_reference or short(result.provider_reference, 100)
        refund.provider_secondary_reference = refund.provider_secondary_reference or short(result.secondary_reference,
                                                                                           100)
        if result.status in WAITING:
            if result.result_message:
                refund.result_message = short(result.result_message, 300)
            refund.save()
            outcome = Outcome(CallbackOutcome.RECEIVED, "The provider has not finished the refund yet.")
        elif result.status == P.COMPLETED:
            outcome = _refund_done(refund, result)
        elif refund.status in (R.COMPLETED, R.FAILED):
            outcome = Outcome(CallbackOutcome.DUPLICATE, f"The refund is already {refund.status}.")
        elif refund.status != R.PROCESSING:
            outcome = Outcome(CallbackOutcome.REJECTED, f"The refund is {refund.status}; no result was expected.")
        else:
            _move(refund, R.FAILED, REFUND_TRANSITIONS)
            refund.result_code = short(result.result_code, 40)
            refund.result_message = short(result.result_message, 300)
            refund.next_check_at = None
            refund.save()
            outcome = Outcome(CallbackOutcome.APPLIED)
        outcome.refund = refund
        _event(refund.payment, f"refund {refund.pk} {source}: {outcome.kind}", response=redact(result.raw),
               error=outcome.reason)
    return outcome


def _refund_done(refund, result):
    if refund.status == R.COMPLETED:
        return Outcome(CallbackOutcome.DUPLICATE, "The refund is already completed.")
    if refund.status not in (R.PROCESSING, R.FAILED):
        return Outcome(CallbackOutcome.REJECTED, f"The refund is {refund.status}; no result was expected.")
    was = refund.status
    _move(refund, R.COMPLETED, REFUND_TRANSITIONS)
    refund.result_code = short(result.result_code, 40)
    refund.result_message = short(result.result_message, 300)
    refund.completed_at, refund.next_check_at = timezone.now(), None
    if result.amount is not None:
        refund.provider_amount = to_money(result.amount)
    notes = []
    if was == R.FAILED:
        refund.attention = RefundAttention.LATE_SUCCESS
        notes.append("The provider refunded after the refund was recorded failed: do not pay it again.")
    if refund.provider_amount is not None and refund.provider_amount != refund.amount:
        refund.attention = RefundAttention.AMOUNT_MISMATCH
        notes.append(f"The provider refunded {refund.provider_amount}, the refund is for {refund.amount}.")
    refund.attention_note = " ".join(notes)[:300]
    refund.save()
    return Outcome(CallbackOutcome.APPLIED, " ".join(notes))


def note_refund(refund, parsed, route):
    """A notice that is not final (M-Pesa queue timeout, "in process"): noted, checked again soon."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        refund.provider_reference = refund.provider_reference or short(parsed.provider_reference, 100)
        refund.provider_secondary_reference = refund.provider_secondary_reference or short(
            parsed.secondary_reference, 100)
        if refund.status == R.PROCESSING:
            refund.result_message = short(f"{parsed.result_message or 'Not final yet'}; checking again.", 300)
            refund.next_check_at = timezone.now() + verify_after()
        refund.save()


def check_refund(refund, now=None) -> Outcome:
    """Ask the provider about a refund left processing; apply a definite answer."""
    refund = Refund.objects.select_related("payment", "payment__sale").get(pk=refund.pk)
    if refund.status != R.PROCESSING:
        return Outcome(CallbackOutcome.DUPLICATE, "Nothing to ask.", refund=refund)
    now = now or timezone.now()
    Refund.objects.filter(pk=refund.pk).update(check_attempts=refund.check_attempts + 1,
                                               next_check_at=now + backoff(refund.check_attempts))
    try:
        result = get_gateway(refund.payment.method).refund_status(refund.payment, refund)
    except GatewayError as exc:
        return Outcome(CallbackOutcome.RECEIVED, f"Provider not reached: {exc.message}", refund=refund)
    return apply_refund_result(refund, result, "check")


# --- approval ------------------------------------------------------------------------------------
def _decide(refund, user):
    if not can(user, "payments.approve_refund"):
        raise ServiceError(gettext("Only a manager or an admin can approve or reject refunds."), field="refund",
                           code="not_allowed")
    sale_id = Refund.objects.values_list("payment__sale_id", flat=True).get(pk=refund.pk)
    Sale.objects.select_for_update().get(pk=sale_id)
    refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
    if refund.status != R.PENDING_APPROVAL:
        raise ServiceError(gettext("This refund is %(status)s, not waiting for approval.")
                           % {"status": refund.get_status_display().lower()},
                           field="status", code="not_pending")
    refund.decided_at = timezone.now()
    return refund


def approve_refund(refund, *, user, drawer_shift=None) -> Refund:
    """Another manager approves a refund waiting for approval (four eyes: never the one who asked for
    it); it is then paid (cash) or sent to the provider. Concurrent approvals: one winner.
    `drawer_shift`: approved at a till, a cash refund is paid out of that open shift's drawer (counted in
    its Z); a refund to be paid from a drawer whose shift has closed since is refused without one."""
    with transaction.atomic():
        refund = _decide(refund, user)
        if refund.requested_by_id == getattr(user, "pk", None):
            raise ServiceError(gettext("Another manager must approve a refund you asked for."), field="refund",
                               code="four_eyes")
        if drawer_shift is not None and refund.paid_in_cash:
            refund.drawer_shift = drawer_shift
        if refund.drawer_shift_id is not None:
            refund.drawer_shift = _open_drawer(refund.drawer_shift)
        refund.approved_by = user
        _start(refund)
    if refund.status == R.PROCESSING:
        refund = _hand_to_worker(refund)
    return refund


@transaction.atomic
def reject_refund(refund, *, user, reason="") -> Refund:
    refund = _decide(refund, user)
    _move(refund, R.REJECTED, REFUND_TRANSITIONS)
    refund.rejected_by = user
    refund.result_message = (reason or "Rejected")[:300]
    refund.save()
    return refund
