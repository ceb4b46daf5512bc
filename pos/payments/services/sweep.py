"""The scheduled re-check (django-q2, every minute): every unconfirmed or disputed money state is asked
about again, with back-off, until the provider's answer is definite or its window closes; then a
person is asked (attention = unresolved). Safe against callbacks arriving at the same time: every
change goes through apply_result / apply_refund_result under row locks with state checks."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from pos.payments.gateways.base import GatewayResult
from pos.payments.models import (
    Attention,
    CallbackOutcome,
    Method,
    Payment,
    PaymentCallback,
    Refund,
    RefundAttention,
)
from pos.payments.services.callbacks import confirm_callback
from pos.payments.services.common import (
    IN_FLIGHT,
    PAYMENT_STATES,
    P,
    R,
    backoff,
    confirm_window,
    verify_after,
)
from pos.payments.services.payments import apply_result, send_payment, verify_payment
from pos.payments.services.refunds import check_refund, send_refund

BATCH = 200
GAVE_UP = [P.CANCELLED, P.EXPIRED, P.FAILED]


def send_unsent(now=None) -> dict:
    """Requests the task worker never took to the provider (the broker was down when the till asked).
    A refund is sent late rather than never: the customer is owed it. A payment the cashier may still be
    waiting on (younger than PAYMENT_EXPIRE_AFTER_SECONDS) is sent now; an older one is failed: it
    provably never reached the provider (`sent_at` was never claimed), so no money can come of it."""
    now = now or timezone.now()
    counts = {"payments_sent": 0, "payments_failed": 0, "refunds_sent": 0}
    quiet = now - timedelta(seconds=10)  # the worker normally takes it within a second
    unsent = (Payment.objects.exclude(method=Method.CASH).filter(status=P.PENDING, sent_at__isnull=True,
                                                                created_at__lte=quiet)
              .order_by("created_at").values_list("pk", "created_at")[:BATCH])
    expire_cutoff = now - timedelta(seconds=settings.PAYMENT_EXPIRE_AFTER_SECONDS)
    for pk, created_at in unsent:
        if created_at > expire_cutoff:
            counts["payments_sent"] += send_payment(pk) is not None
        else:
            counts["payments_failed"] += _fail_unsent(pk)
    for pk in (Refund.objects.filter(status=R.PROCESSING, sent_at__isnull=True, created_at__lte=quiet)
               .order_by("created_at").values_list("pk", flat=True)[:BATCH]):
        counts["refunds_sent"] += send_refund(pk) is not None
    return counts


def _fail_unsent(pk) -> int:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=pk)
        if payment.status != P.PENDING or payment.sent_at:
            return 0
        PAYMENT_STATES.move(payment, P.FAILED)
        payment.sent_at = timezone.now()  # claimed: never sent after this
        payment.result_code = "not_sent"
        payment.result_message = ("The request never reached the provider (the task worker was not running); "
                                  "no money was asked for. Take the payment again.")
        payment.next_verify_at = None
        payment.save()
    return 1


def verify_stale_payments(now=None) -> dict:
    """Payments in flight (pending, processing, unconfirmed) and payments we gave up on while the
    provider may still act (cancelled by the cashier, expired, failed) are asked about on their
    back-off schedule. A processing payment the provider still calls in progress after
    PAYMENT_EXPIRE_AFTER_SECONDS expires (the customer never acted; a later success is still
    recorded). One the provider never answered clearly within PAYMENT_CONFIRM_WINDOW_SECONDS is
    flagged `unresolved` for a person and no longer asked about."""
    now = now or timezone.now()
    expire_cutoff = now - timedelta(seconds=settings.PAYMENT_EXPIRE_AFTER_SECONDS)
    window_cutoff = now - confirm_window()
    due = (Payment.objects.exclude(method=Method.CASH)
           .filter(Q(status__in=IN_FLIGHT) | Q(status__in=GAVE_UP, next_verify_at__isnull=False))
           .filter(Q(next_verify_at__lte=now) | Q(next_verify_at__isnull=True, created_at__lte=now - verify_after()))
           .exclude(attention=Attention.UNRESOLVED)
           .exclude(status=P.PENDING, sent_at__isnull=True)  # not asked yet: send_unsent
           .order_by("created_at")[:BATCH])
    counts = {"verified": 0, "completed": 0, "expired": 0, "unresolved": 0}
    for payment in due:
        if payment.provider_reference:
            outcome = verify_payment(payment, now)
            payment = outcome.payment
            counts["verified"] += 1
            counts["completed"] += payment.status == P.COMPLETED
        else:  # nothing to ask by (M-Pesa push whose answer was lost): the token-matched callback decides
            Payment.objects.filter(pk=payment.pk).update(verify_attempts=payment.verify_attempts + 1,
                                                         next_verify_at=now + backoff(payment.verify_attempts))
            payment.refresh_from_db()
        if payment.status == P.PROCESSING and payment.created_at <= expire_cutoff:
            counts["expired"] += _expire(payment)
        elif payment.created_at <= window_cutoff:
            counts["unresolved"] += _give_up(payment)
    return counts


def _expire(payment) -> int:
    seconds = settings.PAYMENT_EXPIRE_AFTER_SECONDS
    result = GatewayResult(status=P.EXPIRED, result_code="timeout",
                           result_message=f"No answer from the provider after {seconds} seconds.")
    done = apply_result(payment, result, "timeout").kind == CallbackOutcome.APPLIED
    if done:  # keep asking within the window: a late success is money received
        Payment.objects.filter(pk=payment.pk).update(next_verify_at=timezone.now() + verify_after())
    return int(done)


def _give_up(payment) -> int:
    """The window has closed. In flight: a person must look (flagged); given up on: stop asking."""
    if payment.status in IN_FLIGHT:
        Payment.objects.filter(pk=payment.pk, status__in=IN_FLIGHT).update(
            attention=Attention.UNRESOLVED, next_verify_at=None,
            attention_note=f"No definite answer from {payment.get_method_display()} within the confirmation "
                           "window: check the provider's portal, then close it in the admin.")
        return 1
    Payment.objects.filter(pk=payment.pk).update(next_verify_at=None)
    return 0


def recheck_callbacks(now=None) -> int:
    """Stored callbacks whose success was not confirmed yet (the task could not be queued, the provider
    could not be reached, the query lagged): confirmed again with back-off within the window."""
    now = now or timezone.now()
    rows = (PaymentCallback.objects.filter(outcome=CallbackOutcome.RECEIVED, received_at__gte=now - confirm_window())
            .order_by("received_at")[:BATCH])
    done = 0
    for callback in rows:
        if callback.received_at + backoff(callback.attempts) - verify_after() > now and callback.attempts:
            continue
        confirm_callback(callback.pk)
        done += 1
    return done


def recheck_refunds(now=None) -> dict:
    """Refunds left processing: the provider is asked (M-Pesa Transaction Status, Airtel enquiry,
    Flutterwave refund status) with back-off; past the window they are flagged for a person."""
    now = now or timezone.now()
    window_cutoff = now - confirm_window()
    due = (Refund.objects.filter(status=R.PROCESSING, sent_at__isnull=False)
           .filter(Q(next_check_at__lte=now) | Q(next_check_at__isnull=True, created_at__lte=now - verify_after()))
           .exclude(attention=RefundAttention.UNRESOLVED).order_by("created_at")[:BATCH])
    counts = {"checked": 0, "unresolved": 0}
    for refund in due:
        check_refund(refund, now)
        counts["checked"] += 1
        if refund.created_at <= window_cutoff:
            counts["unresolved"] += Refund.objects.filter(pk=refund.pk, status=R.PROCESSING).update(
                attention=RefundAttention.UNRESOLVED, next_check_at=None,
                attention_note="No definite answer from the provider within the window: check its portal "
                               "before paying this refund in any other way.")
    return counts


def recheck_money(now=None) -> dict:
    """The scheduled task: callbacks first (they carry receipts), then payments, then refunds."""
    return {"unsent": send_unsent(now), "callbacks": recheck_callbacks(now),
            "payments": verify_stale_payments(now), "refunds": recheck_refunds(now)}
