"""Provider callbacks and webhooks: stored first, always; matched; applied or confirmed in a task.

`handle_callback` runs on the web worker and never talks to a provider: it stores the raw body (its
own transaction, escaped so any bytes fit), parses it, matches it to a payment or refund, applies a
definite failure at once, and hands a success to `confirm_callback` in a django-q2 task (the provider
is asked there: STK Query, Airtel enquiry, Flutterwave verify). Whatever happens it answers with the
acknowledgement the provider expects. A callback left `received` (the task could not be queued, the
provider could not be reached) is picked up again by the scheduled re-check (services.sweep).
"""

import hmac
import json
import logging
from dataclasses import replace

from django.conf import settings
from django.db import IntegrityError, transaction

from pos.core.errors import ServiceError
from pos.payments.gateways.base import CallbackError, GatewayError, get_gateway, redact
from pos.payments.models import (
    CallbackOutcome,
    Method,
    Payment,
    PaymentCallback,
    Refund,
)
from pos.payments.services.common import WAITING, Outcome, P, R, _lock, enqueue, short
from pos.payments.services.payments import _money_problem, apply_result

log = logging.getLogger("pos.payments.callbacks")

PROVIDERS = {"mpesa": Method.MPESA, "airtel": Method.AIRTEL, "card": Method.CARD}


class CallbackAnswer:
    def __init__(self, http_status, body, callback):
        self.http_status, self.body, self.callback = http_status, body, callback


def escape_text(text: str) -> str:
    """Text any database stores: NUL and lone surrogates escaped (\\u0000), nothing dropped."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _safe_json(value):
    try:
        return json.loads(escape_text(json.dumps(value, default=str)))
    except (TypeError, ValueError):
        return {}


def store_callback(provider, body, headers, source_ip=None, path="", route="payment", token="") -> PaymentCallback:
    """The raw body, stored before anything else is done with it (its own transaction)."""
    text = body.decode("utf-8", errors="backslashreplace") if isinstance(body, bytes) else str(body)
    with transaction.atomic():
        return PaymentCallback.objects.create(
            provider=short(provider, 20), raw_body=escape_text(text), headers=_safe_json(redact(dict(headers or {}))),
            source_ip=source_ip or None, path=escape_text(str(path))[:300], route=short(route, 20),
            token=escape_text(str(token or ""))[:64])


def handle_callback(provider, body: bytes, headers: dict, source_ip=None, token=None, path="", route="payment",
                    ref=None) -> CallbackAnswer:
    """Take a provider's callback (see the module docstring). `route` is which URL it came to (payment,
    reversal, reversal_timeout, status), `ref` the refund id in a refund result URL."""
    callback = store_callback(provider, body, headers, source_ip, path, route, token)
    gateway = get_gateway(PROVIDERS[provider])
    parsed = None
    try:
        parsed = gateway.parse_callback(body, headers, token, route=route)
        signature_ok = parsed.signature_ok
        outcome = process(callback, gateway, parsed, token, route, ref, confirm=False)
    except CallbackError as exc:
        signature_ok, outcome = None, Outcome(CallbackOutcome.REJECTED, f"Malformed callback: {exc}")
    except (GatewayError, ServiceError) as exc:
        signature_ok, outcome = None, Outcome(CallbackOutcome.REJECTED, f"Refused: {getattr(exc, 'message', exc)}")
    except Exception as exc:
        log.exception("callback %s could not be handled", callback.pk)
        signature_ok, outcome = None, Outcome(CallbackOutcome.RECEIVED, f"Not handled yet ({exc.__class__.__name__}); "
                                                                        "it is tried again.")
    _record(callback, outcome, source_ip, signature_ok)
    if outcome.kind == CallbackOutcome.RECEIVED and outcome.payment is not None:
        enqueue("pos.payments.tasks.confirm_callback", callback.pk)
        callback.refresh_from_db()  # the task may have run already (sync mode)
    try:
        http_status, answer = gateway.acknowledgement(parsed)
    except Exception:  # noqa: BLE001
        http_status, answer = 200, {"received": True}
    return CallbackAnswer(http_status, answer, callback)


def _record(callback, outcome, source_ip=None, signature_ok=None):
    reason = outcome.reason
    if callback.provider == "mpesa" and settings.MPESA_ALLOWED_IPS and source_ip \
            and source_ip not in settings.MPESA_ALLOWED_IPS:
        # Safaricom's address list is not published officially: note it, do not reject on it.
        log.warning("M-Pesa callback %s from %s, not in MPESA_ALLOWED_IPS", callback.pk, source_ip)
        reason = f"[source {source_ip} not in MPESA_ALLOWED_IPS] {reason}"
    refund = outcome.refund
    payment = outcome.payment or (refund.payment if refund is not None else None)
    fields = {"outcome": outcome.kind, "reason": escape_text(reason)[:300], "payment": payment, "refund": refund}
    if signature_ok is not None:
        fields["signature_ok"] = signature_ok
    PaymentCallback.objects.filter(pk=callback.pk).update(**fields)
    for name, value in fields.items():
        setattr(callback, name, value)


def confirm_callback(callback_id) -> Outcome | None:
    """The task: ask the provider about a stored callback that reported a success, and apply the answer."""
    callback = PaymentCallback.objects.filter(pk=callback_id).first()
    if callback is None or callback.outcome != CallbackOutcome.RECEIVED:
        return None
    PaymentCallback.objects.filter(pk=callback.pk).update(attempts=callback.attempts + 1)
    gateway = get_gateway(PROVIDERS[callback.provider])
    ref = callback.refund_id
    try:
        parsed = gateway.parse_callback(callback.raw_body.encode(), {}, callback.token or None, route=callback.route)
        if callback.signature_ok is not None:
            parsed.signature_ok = callback.signature_ok
        outcome = process(callback, gateway, parsed, callback.token or None, callback.route, ref, confirm=True)
    except CallbackError as exc:
        outcome = Outcome(CallbackOutcome.REJECTED, f"Malformed callback: {exc}")
    except (GatewayError, ServiceError) as exc:
        outcome = Outcome(CallbackOutcome.RECEIVED, f"Not confirmed yet: {getattr(exc, 'message', exc)}",
                          payment=callback.payment)
    _record(callback, outcome)
    return outcome


# --- matching ----------------------------------------------------------------------------------------
def _token_ok(payment, token):
    return bool(token) and hmac.compare_digest(str(payment.callback_token), str(token))


def process(callback, gateway, parsed, token, route, ref, *, confirm) -> Outcome:
    if parsed.signature_ok is False:
        return Outcome(CallbackOutcome.REJECTED, "Bad signature.")
    if parsed.kind == "refund":
        return _refund_callback(gateway, parsed, token, route, ref or callback.refund_id)
    payment = _match_payment(gateway, parsed, token)
    if isinstance(payment, Outcome):
        return payment
    if parsed.status == P.COMPLETED:
        outcome = _success(gateway, payment, parsed, confirm)
    elif parsed.status in WAITING:
        outcome = Outcome(CallbackOutcome.DUPLICATE, "Not final yet; nothing changed.", payment)
    else:
        outcome = apply_result(payment, parsed, "callback")
    outcome.payment = outcome.payment or payment
    return outcome


def _match_payment(gateway, parsed, token):
    """M-Pesa: by the URL token (the only link when the push's answer, with its CheckoutRequestID, was
    lost); the CheckoutRequestID, once known, must agree. Others: by our own reference."""
    if gateway.method != Method.MPESA:
        payment = Payment.objects.filter(method=gateway.method, **parsed.lookup).first()
        if payment is None:
            return Outcome(CallbackOutcome.REJECTED, f"Unknown payment {parsed.provider_reference!r}.")
        return payment
    payment = Payment.objects.filter(method=Method.MPESA, callback_token=str(token)).first() if token else None
    if payment is None:
        known = Payment.objects.filter(method=Method.MPESA, **parsed.lookup).exists()
        reason = "The callback URL token does not match the payment." if known else \
            f"Unknown payment {parsed.provider_reference!r}."
        return Outcome(CallbackOutcome.REJECTED, reason)
    if payment.provider_reference and parsed.provider_reference != payment.provider_reference:
        if Payment.objects.filter(method=Method.MPESA, **parsed.lookup).exists():
            return Outcome(CallbackOutcome.REJECTED, "The callback URL token does not match the payment.")
        return Outcome(CallbackOutcome.REJECTED, f"Unknown payment {parsed.provider_reference!r} (this URL belongs "
                                                 f"to payment {payment.pk}).")
    if not payment.provider_reference:
        with transaction.atomic():
            locked = _lock(payment)
            if not locked.provider_reference:
                locked.provider_reference = parsed.provider_reference
                locked.provider_secondary_reference = locked.provider_secondary_reference or short(
                    parsed.secondary_reference, 100)
                try:
                    with transaction.atomic():
                        locked.save(update_fields=["provider_reference", "provider_secondary_reference", "updated_at"])
                except IntegrityError:
                    return Outcome(CallbackOutcome.REJECTED, "This CheckoutRequestID belongs to another payment.")
            payment = locked
    return payment


def _success(gateway, payment, parsed, confirm):
    """A success counts only once the provider's query API confirms it (callbacks are unsigned or may be
    replayed); amount and currency are checked first, and what only the callback carries (the M-Pesa
    receipt) is kept whatever the query says meanwhile."""
    if payment.status == P.COMPLETED and parsed.receipt in ("", payment.receipt):
        return Outcome(CallbackOutcome.DUPLICATE, "The payment is already completed.", payment)
    problem = _money_problem(payment, parsed)
    if problem:
        return Outcome(CallbackOutcome.REJECTED, problem[1], payment)
    if parsed.receipt and payment.method == Method.MPESA and not payment.reported_receipt:
        Payment.objects.filter(pk=payment.pk, reported_receipt="").update(reported_receipt=short(parsed.receipt, 100))
        payment.refresh_from_db()
    if not confirm:
        return Outcome(CallbackOutcome.RECEIVED, "Stored; confirming with the provider.", payment)
    confirmed = gateway.verify(payment)  # GatewayError: the caller leaves it received, tried again later
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


def _refund_callback(gateway, parsed, token, route, ref):
    from pos.payments.services.refunds import apply_refund_result, note_refund

    refunds = Refund.objects.select_related("payment").filter(payment__method=gateway.method)
    if ref:
        refund = refunds.filter(pk=ref).first() if str(ref).isdigit() else None
    elif parsed.lookup:
        refund = refunds.filter(**parsed.lookup).first()
    else:
        refund = None
    if refund is None:
        return Outcome(CallbackOutcome.REJECTED, f"Unknown refund {parsed.provider_reference or ref!r}.")
    if gateway.method == Method.MPESA and not _token_ok(refund.payment, token):
        return Outcome(CallbackOutcome.REJECTED, "The callback URL token does not match the payment.", refund=refund)
    if route == "reversal" and parsed.provider_reference and refund.provider_reference \
            and parsed.provider_reference != refund.provider_reference:
        return Outcome(CallbackOutcome.REJECTED, "This result is about another reversal (ConversationID).",
                       refund=refund)
    if route in ("reversal_timeout",) or parsed.status in WAITING:
        note_refund(refund, parsed, route)
        return Outcome(CallbackOutcome.DUPLICATE, "Not final (queue timeout or still processing); the refund is "
                                                  "checked again.", refund=refund)
    if refund.status in (R.PENDING_APPROVAL, R.REJECTED):
        return Outcome(CallbackOutcome.REJECTED, f"The refund is {refund.status}; no result was expected.",
                       refund=refund)
    return apply_refund_result(refund, parsed, route or "callback")
