"""Card payments through Flutterwave v3 (Standard: a hosted payment page).

initiate() returns the hosted page link as redirect_url; the customer pays there; Flutterwave sends
the `charge.completed` webhook (to the URL set in its dashboard: ours is
/api/payments/webhooks/card/callback/) with the `verif-hash` header; verify() asks the API for
the truth before the services give value.
"""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

from pos.core.errors import ServiceError
from pos.payments.gateways.base import (
    CallbackError,
    Gateway,
    GatewayError,
    GatewayResult,
    ParsedCallback,
    header,
    parse_json,
    public_url,
    sandbox_url,
    to_decimal,
    wire_amount,
)

BASE = "https://api.flutterwave.com"
CHARGE_STATUS = {"successful": "completed", "succeeded": "completed", "failed": "failed"}
REFUND_STATUS = {"completed": "completed", "succeeded": "completed", "failed": "failed"}


def error_from(answer: dict, http_status: int) -> GatewayError:
    """Definite when Flutterwave answered with its own body ({"status": "error", "message"}) below 500."""
    recognised = answer.get("status") in ("error", "success") and http_status < 500
    return GatewayError(f"http_{http_status}", str(answer.get("message") or answer.get("text") or "refused")[:300],
                        unknown=not recognised)


def body_signature(secret: str, body: bytes) -> str:
    """The `flutterwave-signature` header: base64(HMAC-SHA256(secret hash, raw body))."""
    raw = body if isinstance(body, bytes) else str(body).encode()
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


class FlutterwaveGateway(Gateway):
    method = "card"
    provider = "flutterwave"

    @staticmethod
    def uses_sandbox() -> bool:
        return not settings.FLUTTERWAVE_SECRET_KEY

    def base_url(self) -> str:
        return sandbox_url("flutterwave") if self.uses_sandbox() else BASE

    def send(self, payment, action, http_method, path, *, body=None, params=None, safe):
        key = settings.FLUTTERWAVE_SECRET_KEY or "FLWSECK_TEST-sandbox-X"
        return self.call(payment, action, http_method, self.base_url() + path, body=body, params=params,
                         headers={"Authorization": f"Bearer {key}"}, safe=safe)

    # --- hosted payment page ---------------------------------------------------------------------
    @staticmethod
    def prepare(payment) -> dict:
        """Our tx_ref, stored before the call so a lost answer still leaves a reference to verify by."""
        return {"provider_reference": f"POS-{payment.sale_id}-{secrets.token_hex(5)}"}

    def initiate(self, payment) -> GatewayResult:
        sale = payment.sale
        tx_ref = payment.provider_reference or self.prepare(payment)["provider_reference"]
        body = {
            "tx_ref": tx_ref,
            "amount": wire_amount(payment.amount),
            "currency": payment.currency,
            "redirect_url": getattr(settings, "CARD_REDIRECT_URL", "") or public_url("/admin/checkout/"),
            "customer": {
                "email": getattr(settings, "FLUTTERWAVE_CUSTOMER_EMAIL", "") or "walk-in@example.com",
                "phonenumber": payment.phone_number or sale.customer_phone,
                "name": sale.customer_name or "Walk-in customer",
            },
            "customizations": {"title": settings.SHOP_NAME, "description": f"Sale {sale.receipt_number}"},
            "meta": {"payment_id": payment.pk, "receipt_number": sale.receipt_number},
        }
        status, answer = self.send(payment, "card.initiate", "POST", "/v3/payments", body=body, safe=False)
        link = (answer.get("data") or {}).get("link") if isinstance(answer.get("data"), dict) else None
        if status != 200 or answer.get("status") != "success" or not link:
            raise error_from(answer, status)
        return GatewayResult(status="processing", provider_reference=tx_ref, amount=payment.amount,
                             currency=payment.currency, redirect_url=link,
                             result_message=answer.get("message", ""), raw=answer)

    # --- verification ----------------------------------------------------------------------------
    def verify(self, payment) -> GatewayResult:
        """Completed only if Flutterwave says successful, for our tx_ref, in our currency, for at least
        the amount due; a successful charge that fails a check is reported `failed` with the reason."""
        if payment.provider_secondary_reference:
            path, params = f"/v3/transactions/{payment.provider_secondary_reference}/verify", None
        elif payment.provider_reference:
            path, params = "/v3/transactions/verify_by_reference", {"tx_ref": payment.provider_reference}
        else:
            return GatewayResult(status="pending", result_message="No card payment was started.")
        status, answer = self.send(payment, "card.verify", "GET", path, params=params, safe=True)
        data = answer.get("data")
        if status == 200 and answer.get("status") == "success" and isinstance(data, dict):
            return self.checked(payment, data, answer)
        if "no transaction" in str(answer.get("message", "")).lower():
            return GatewayResult(status="pending", provider_reference=payment.provider_reference,
                                 result_code="not_found", result_message=answer.get("message", ""), raw=answer)
        raise error_from(answer, status)

    @staticmethod
    def checked(payment, data, answer) -> GatewayResult:
        amount, currency = to_decimal(data.get("amount")), str(data.get("currency") or "")
        status, code = CHARGE_STATUS.get(data.get("status"), "processing"), str(data.get("status") or "")
        if status == "completed":
            if data.get("tx_ref") != payment.provider_reference:
                status, code = "failed", "tx_ref_mismatch"
            elif currency != payment.currency:
                status, code = "failed", "currency_mismatch"
            elif amount is None or amount < payment.amount:
                status, code = "failed", "amount_too_low"
        return GatewayResult(
            status=status, provider_reference=str(data.get("tx_ref") or ""), secondary_reference=str(data.get("id", "")),
            receipt=str(data.get("flw_ref") or ""), amount=amount, currency=currency, result_code=code,
            result_message=str(data.get("processor_response") or answer.get("message") or ""), raw=answer,
        )

    # --- webhook ---------------------------------------------------------------------------------
    @staticmethod
    def signature_ok(body: bytes, headers: dict) -> bool:
        """Either scheme: the newer `flutterwave-signature` (base64 HMAC-SHA256 of the raw body with the
        secret hash) or the older `verif-hash` (the secret hash itself), compared in constant time."""
        secret = settings.FLUTTERWAVE_SECRET_HASH or ""
        if not secret:
            return False
        signed = header(headers, "flutterwave-signature")
        if signed:
            return hmac.compare_digest(signed.encode(), body_signature(secret, body).encode())
        given = header(headers, "verif-hash")
        return bool(given) and hmac.compare_digest(given.encode(), secret.encode())

    def parse_callback(self, body: bytes, headers: dict, token: str | None = None, route=None) -> ParsedCallback:
        """`charge.completed` in the v3 shape ({"event", "data": {"tx_ref", ...}}) or the v4 shape
        ({"webhook_id", "type", "data": {"id", "reference", "payment_method", ...}}). signature_ok: either
        signature scheme (False when the secret or the header is missing). Lookup by tx_ref (ours)."""
        data = parse_json(body)
        charge = data.get("data")
        event = data.get("event") or data.get("type")
        reference = (charge.get("tx_ref") or charge.get("reference")) if isinstance(charge, dict) else None
        if event != "charge.completed" or not isinstance(charge, dict) or not reference:
            raise CallbackError(f"not a charge.completed event with a tx_ref/reference (event={event!r})")
        return ParsedCallback(
            status=CHARGE_STATUS.get(str(charge.get("status") or "").lower(), "pending"),
            provider_reference=str(reference)[:100],
            secondary_reference=str(charge.get("id") or "")[:100], receipt=str(charge.get("flw_ref") or "")[:100],
            amount=to_decimal(charge.get("amount")), currency=str(charge.get("currency") or "")[:3],
            result_code=str(charge.get("status") or "")[:40],
            result_message=str(charge.get("processor_response") or "")[:300],
            raw=data, lookup={"provider_reference": str(reference)[:100]},
            signature_ok=self.signature_ok(body, headers), kind="payment",
        )

    def acknowledgement(self, parsed_or_none) -> tuple[int, dict]:
        return 200, {"status": "success"}

    # --- refund ----------------------------------------------------------------------------------
    def refund(self, payment, amount, refund=None) -> GatewayResult:
        transaction_id = payment.provider_secondary_reference
        if not transaction_id:
            raise ServiceError("This card payment has no Flutterwave transaction id to refund.", field="payment",
                               code="no_receipt")
        body = {"amount": wire_amount(amount), "comments": (refund.reason if refund is not None else "") or "Refund"}
        status, answer = self.send(payment, "card.refund", "POST", f"/v3/transactions/{transaction_id}/refund",
                                   body=body, safe=False)
        data = answer.get("data")
        if status != 200 or answer.get("status") != "success" or not isinstance(data, dict):
            raise error_from(answer, status)
        return self.refund_result(payment, data, answer)

    @staticmethod
    def refund_result(payment, data, answer) -> GatewayResult:
        state = REFUND_STATUS.get(str(data.get("status") or "").lower(), "processing")
        return GatewayResult(
            status=state, provider_reference=str(data.get("id", "")),
            receipt=str(data.get("flw_ref") or ""),
            amount=to_decimal(data.get("amount_refunded")) if state == "completed" else None,
            currency=payment.currency, result_code=str(data.get("status") or "")[:40],
            result_message=str(answer.get("message", ""))[:300], raw=answer,
        )

    def refund_status(self, payment, refund) -> GatewayResult:
        """GET /v3/refunds/{id}: a refund can stay pending for a while; poll it."""
        if not refund.provider_reference:
            return GatewayResult(status="pending", result_message="Flutterwave never told us the refund's id.")
        status, answer = self.send(payment, "card.refund_status", "GET", f"/v3/refunds/{refund.provider_reference}",
                                   safe=True)
        data = answer.get("data")
        if status != 200 or answer.get("status") != "success" or not isinstance(data, dict):
            raise error_from(answer, status)
        return self.refund_result(payment, data, answer)
