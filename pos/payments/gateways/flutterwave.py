"""Card payments through Flutterwave v3 (Standard: a hosted payment page).

initiate() returns the hosted page link as redirect_url; the customer pays there; Flutterwave sends
the `charge.completed` webhook (to the URL set in its dashboard: ours is
/api/payments/webhooks/card/callback/) with the `verif-hash` header; verify() asks the API for
the truth before the services give value.
"""

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
CHARGE_STATUS = {"successful": "completed", "failed": "failed"}
REFUND_STATUS = {"completed": "completed", "failed": "failed"}


def error_from(answer: dict, http_status: int) -> GatewayError:
    return GatewayError(f"http_{http_status}", answer.get("message") or answer.get("text") or "refused")


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
    def initiate(self, payment) -> GatewayResult:
        sale = payment.sale
        tx_ref = f"POS-{payment.pk}-{secrets.token_hex(4)}"
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
    def parse_callback(self, body: bytes, headers: dict, token: str | None = None) -> ParsedCallback:
        """`charge.completed`: signature_ok is the constant-time comparison of the verif-hash header with
        FLUTTERWAVE_SECRET_HASH (False when either is empty). Lookup by tx_ref (ours)."""
        data = parse_json(body)
        charge = data.get("data")
        if data.get("event") != "charge.completed" or not isinstance(charge, dict) or not charge.get("tx_ref"):
            raise CallbackError(f"not a charge.completed event with a tx_ref (event={data.get('event')!r})")
        expected, given = settings.FLUTTERWAVE_SECRET_HASH or "", header(headers, "verif-hash")
        signature_ok = bool(expected and given) and hmac.compare_digest(given.encode(), expected.encode())
        return ParsedCallback(
            status=CHARGE_STATUS.get(charge.get("status"), "pending"), provider_reference=str(charge["tx_ref"]),
            secondary_reference=str(charge.get("id") or ""), receipt=str(charge.get("flw_ref") or ""),
            amount=to_decimal(charge.get("amount")), currency=str(charge.get("currency") or ""),
            result_code=str(charge.get("status") or ""), result_message=str(charge.get("processor_response") or ""),
            raw=data, lookup={"provider_reference": str(charge["tx_ref"])}, signature_ok=signature_ok,
            kind="payment",
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
        return GatewayResult(
            status=REFUND_STATUS.get(data.get("status"), "processing"), provider_reference=str(data.get("id", "")),
            receipt=str(data.get("flw_ref") or ""), amount=to_decimal(data.get("amount_refunded")),
            currency=payment.currency, result_code=str(data.get("status") or ""),
            result_message=answer.get("message", ""), raw=answer,
        )
