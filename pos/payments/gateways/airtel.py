"""Airtel Money Open API: token, collection (USSD push), status enquiry, callback, refund.

The callback URL is configured in the Airtel portal (ours: /api/payments/webhooks/airtel/callback/);
callbacks are matched by transaction.id, which is our own unique id sent with the collection.
"""

import base64
import hashlib
import hmac
import json
import secrets

from django.conf import settings

from pos.core.errors import ServiceError
from pos.payments.gateways.base import (
    CallbackError,
    Gateway,
    GatewayError,
    GatewayResult,
    ParsedCallback,
    normalise_msisdn,
    not_sent_if_failing,
    parse_json,
    sandbox_url,
    to_decimal,
    whole_shillings,
)
from pos.payments.gateways.tokens import shared_token

BASES = {"production": "https://openapi.airtel.africa", "uat": "https://openapiuat.airtel.africa"}
# A failed (TF) transaction whose response code says the customer never acted or refused.
TF_STATUS = {"DP00800001005": "expired", "DP00800001024": "expired", "DP00800001029": "expired",
             "DP00800001008": "cancelled"}
TRANSACTION_STATUS = {"TS": "completed", "TF": "failed", "TIP": "processing", "TA": "pending"}
SUCCESS_CODE, AMBIGUOUS_CODE, IN_PROCESS_CODE = "DP00800001001", "DP00800001000", "DP00800001006"
# Response codes that are a definite "no" (the customer or Airtel refused; nothing moved).
REFUSED_CODES = {"DP00800001002", "DP00800001003", "DP00800001005", "DP00800001007", "DP00800001008",
                 "DP00800001024", "DP00800001029"}


def error_from(answer: dict, http_status: int) -> GatewayError:
    """A refusal: definite when Airtel answered with its own status block or OAuth error; otherwise (a
    proxy's 5xx, garbage) we cannot tell whether it acted."""
    status = answer.get("status") if isinstance(answer.get("status"), dict) else {}
    recognised = bool(status.get("response_code") or status.get("result_code") or answer.get("error"))
    code = status.get("response_code") or status.get("result_code") or answer.get("error") or f"http_{http_status}"
    message = status.get("message") or answer.get("error_description") or answer.get("text") or "refused"
    unknown = not recognised or str(code) in (AMBIGUOUS_CODE, IN_PROCESS_CODE)
    return GatewayError(code, str(message)[:300], unknown=unknown)


def judge(answer: dict, http_status: int) -> str:
    """What an Airtel answer (collection, refund) says, from data.transaction.status and the response
    code, never from `status.success` alone (the portal's own refund answer has success: false with
    transaction status SUCCESS): completed | processing (in process / ambiguous: not final) | failed."""
    status = answer.get("status") if isinstance(answer.get("status"), dict) else {}
    data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
    transaction = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
    state = str(transaction.get("status") or "").upper()
    code = str(status.get("response_code") or "")
    message = str(status.get("message") or "").upper()
    if code in REFUSED_CODES or state in ("TF", "FAILED"):
        return "failed"
    if code in (IN_PROCESS_CODE, AMBIGUOUS_CODE) or state in ("TIP", "TA", "IN PROCESS", "PENDING"):
        return "processing"
    if state in ("SUCCESS", "TS", "SUCCESSFUL") and (code == SUCCESS_CODE or message == "SUCCESS"):
        return "completed"
    if http_status >= 500 or not (status or transaction):
        return "unknown"
    return "processing"


def callback_hash(transaction: dict, secret: str) -> str:
    """base64(HMAC-SHA256(secret, compact JSON of the callback's transaction object))."""
    message = json.dumps(transaction, separators=(",", ":")).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class AirtelGateway(Gateway):
    method = "airtel"
    provider = "airtel"

    @staticmethod
    def uses_sandbox() -> bool:
        return not (settings.AIRTEL_CLIENT_ID and settings.AIRTEL_CLIENT_SECRET)

    def base_url(self) -> str:
        if self.uses_sandbox():
            return sandbox_url("airtel")
        return BASES["production" if settings.AIRTEL_ENV == "production" else "uat"]

    def credentials(self) -> tuple[str, str]:
        if self.uses_sandbox():
            return "sandbox-client-id", "sandbox-client-secret"
        return settings.AIRTEL_CLIENT_ID, settings.AIRTEL_CLIENT_SECRET

    # --- token and authenticated calls -----------------------------------------------------------
    def token(self, payment, stale="") -> str:
        return shared_token("airtel", lambda: self.fetch_token(payment), stale=stale)

    def fetch_token(self, payment):
        client_id, client_secret = self.credentials()
        body = {"client_id": client_id, "client_secret": client_secret, "grant_type": "client_credentials"}
        status, answer = self.call(payment, "airtel.token", "POST", self.base_url() + "/auth/oauth2/token",
                                   body=body, safe=True)
        if status != 200 or not answer.get("access_token"):
            raise error_from(answer, status)
        return answer["access_token"], int(answer.get("expires_in") or 180)

    def send(self, payment, action, http_method, path, body=None, *, currency, safe):
        """A call with the shared bearer token; a 401 replaces the token once and repeats the call."""
        def attempt(token):
            headers = {"Authorization": f"Bearer {token}", "X-Country": settings.AIRTEL_COUNTRY,
                       "X-Currency": currency, "Accept": "*/*"}
            return self.call(payment, action, http_method, self.base_url() + path, body=body, headers=headers,
                             safe=safe)

        token = not_sent_if_failing(lambda: self.token(payment))
        status, answer = attempt(token)
        if status == 401:
            status, answer = attempt(self.token(payment, stale=token))
        return status, answer

    # --- collection ------------------------------------------------------------------------------
    @staticmethod
    def prepare(payment) -> dict:
        """Our own transaction id, stored on the payment BEFORE the collection is sent: if Airtel's
        answer is lost, the enquiry and the callback still find the payment by it."""
        return {"provider_reference": f"POS{payment.sale_id}X{secrets.token_hex(5).upper()}"}

    def initiate(self, payment) -> GatewayResult:
        amount = whole_shillings(payment.amount)
        msisdn = normalise_msisdn(payment.phone_number)
        transaction_id = payment.provider_reference or self.prepare(payment)["provider_reference"]
        body = {
            "reference": payment.sale.receipt_number,
            "subscriber": {"country": settings.AIRTEL_COUNTRY, "currency": payment.currency, "msisdn": msisdn[3:]},
            "transaction": {"amount": amount, "country": settings.AIRTEL_COUNTRY, "currency": payment.currency,
                            "id": transaction_id},
        }
        status, answer = self.send(payment, "airtel.collect", "POST", "/merchant/v1/payments/", body,
                                   currency=payment.currency, safe=False)
        result = answer.get("status") if isinstance(answer.get("status"), dict) else {}
        verdict = judge(answer, status)
        if status != 200 or verdict in ("failed", "unknown"):
            error = error_from(answer, status)
            error.unknown = error.unknown or verdict == "unknown"
            raise error
        return GatewayResult(
            status="processing", provider_reference=transaction_id, amount=to_decimal(amount),
            currency=payment.currency, phone_number=msisdn, result_code=str(result.get("response_code", "")),
            result_message=str(result.get("message", "")), raw=answer,
        )

    # --- status enquiry --------------------------------------------------------------------------
    def verify(self, payment) -> GatewayResult:
        reference = payment.provider_reference
        if not reference:
            return GatewayResult(status="pending", result_message="No collection was accepted for this payment.")
        status, answer = self.send(payment, "airtel.status", "GET", f"/standard/v1/payments/{reference}",
                                   currency=payment.currency, safe=True)
        if status == 404:
            return GatewayResult(status="pending", provider_reference=reference, result_code="not_found",
                                 result_message="Airtel does not know this transaction yet.", raw=answer)
        transaction = ((answer.get("data") or {}).get("transaction")) if isinstance(answer.get("data"), dict) else None
        if status != 200 or not isinstance(transaction, dict) or "status" not in transaction:
            raise error_from(answer, status)
        result = answer.get("status") if isinstance(answer.get("status"), dict) else {}
        code = str(transaction["status"])
        response_code = str(result.get("response_code", ""))
        state = TRANSACTION_STATUS.get(code, "pending")
        if code == "TF":
            state = TF_STATUS.get(response_code, "failed")
        return GatewayResult(
            status=state, provider_reference=reference, receipt=str(transaction.get("airtel_money_id") or ""),
            result_code=code, result_message=str(transaction.get("message") or result.get("message") or ""),
            raw=answer,
        )

    # --- callback --------------------------------------------------------------------------------
    def parse_callback(self, body: bytes, headers: dict, token: str | None = None, route=None) -> ParsedCallback:
        """Lookup by transaction.id (ours). With AIRTEL_CALLBACK_SECRET set the `hash` is checked
        (signature_ok True/False); without it signature_ok is None and the services confirm with verify()."""
        data = parse_json(body)
        transaction = data.get("transaction")
        if not isinstance(transaction, dict) or not transaction.get("id") or not transaction.get("status_code"):
            raise CallbackError("not an Airtel callback: transaction.id/status_code missing")
        signature_ok = None
        if settings.AIRTEL_CALLBACK_SECRET and data.get("hash"):
            # The hash algorithm is undocumented: a mismatch is noted, never a rejection on its own;
            # every callback success is confirmed with the status enquiry before it counts.
            expected = callback_hash(transaction, settings.AIRTEL_CALLBACK_SECRET)
            signature_ok = True if hmac.compare_digest(expected, str(data.get("hash") or "")) else None
        code = str(transaction["status_code"])
        return ParsedCallback(
            status={"TS": "completed", "TF": "failed"}.get(code, "pending"), provider_reference=str(transaction["id"]),
            receipt=str(transaction.get("airtel_money_id") or ""), result_code=code,
            result_message=str(transaction.get("message") or ""), raw=data,
            lookup={"provider_reference": str(transaction["id"])}, signature_ok=signature_ok, kind="payment",
        )

    def acknowledgement(self, parsed_or_none) -> tuple[int, dict]:
        return 200, {"status": {"code": "200", "message": "SUCCESS", "success": True}}

    # --- refund ----------------------------------------------------------------------------------
    def refund(self, payment, amount, refund=None) -> GatewayResult:
        """Airtel refunds a whole transaction (the API takes no amount)."""
        if not payment.receipt:
            raise ServiceError("This Airtel payment has no airtel_money_id to refund.", field="payment",
                               code="no_receipt")
        if to_decimal(amount) != payment.amount:
            raise ServiceError("Airtel Money refunds the whole payment only.", field="amount", code="partial_refund")
        body = {"transaction": {"airtel_money_id": payment.receipt}}
        status, answer = self.send(payment, "airtel.refund", "POST", "/standard/v1/payments/refund", body,
                                   currency=payment.currency, safe=False)
        result = answer.get("status") if isinstance(answer.get("status"), dict) else {}
        transaction = (answer.get("data") or {}).get("transaction") if isinstance(answer.get("data"), dict) else {}
        verdict = judge(answer, status)
        if verdict in ("failed", "unknown") or (status != 200 and verdict != "completed"):
            error = error_from(answer, status)
            error.unknown = error.unknown or verdict == "unknown"
            raise error
        return GatewayResult(
            status=verdict, provider_reference=str((transaction or {}).get("airtel_money_id") or ""),
            amount=to_decimal(amount) if verdict == "completed" else None, currency=payment.currency,
            result_code=str(result.get("response_code", "")), result_message=str(result.get("message", "")),
            raw=answer,
        )

    def refund_status(self, payment, refund) -> GatewayResult:
        """The enquiry on the refund's own transaction id (from the refund answer): TS refunded, TF not,
        TIP/TA not final. Without an id (the refund answer was lost) there is nothing to ask."""
        if not refund.provider_reference:
            return GatewayResult(status="pending", result_message="Airtel never told us the refund's id.")
        status, answer = self.send(payment, "airtel.refund_status", "GET",
                                   f"/standard/v1/payments/{refund.provider_reference}", currency=payment.currency,
                                   safe=True)
        transaction = ((answer.get("data") or {}).get("transaction")) if isinstance(answer.get("data"), dict) else None
        if status != 200 or not isinstance(transaction, dict):
            raise error_from(answer, status)
        state = {"TS": "completed", "TF": "failed"}.get(str(transaction.get("status")), "pending")
        return GatewayResult(status=state, provider_reference=refund.provider_reference,
                             amount=refund.amount if state == "completed" else None, currency=payment.currency,
                             result_code=str(transaction.get("status")),
                             result_message=str(transaction.get("message") or "")[:300], raw=answer)
