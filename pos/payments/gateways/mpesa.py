"""M-Pesa Daraja: OAuth token, STK Push (paybill and till), STK Query, callback, reversal.

Wire formats: /work/shared/gateways.md (and the sandbox simulator in pos.payments.sandbox.mpesa).
"""

import base64
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.payments.gateways.base import (
    CallbackError,
    Gateway,
    GatewayError,
    GatewayResult,
    ParsedCallback,
    normalise_msisdn,
    parse_json,
    public_url,
    sandbox_url,
    to_decimal,
    whole_shillings,
)
from pos.payments.gateways.tokens import shared_token

BASES = {"production": "https://api.safaricom.co.ke", "sandbox": "https://sandbox.safaricom.co.ke"}
PAYBILL, TILL = "CustomerPayBillOnline", "CustomerBuyGoodsOnline"
INVALID_TOKEN = "404.001.03"
IN_PROCESS = "500.001.1001"
STILL_PROCESSING_RESULT = "4999"  # newer Daraja answers the query with this result code while waiting
NAIROBI = ZoneInfo("Africa/Nairobi")

# ResultCode -> payment status; anything else not 0 is a failure.
RESULT_STATUS = {"0": "completed", "1032": "cancelled", "1037": "expired", "1019": "expired"}


def result_status(code: str) -> str:
    return RESULT_STATUS.get(code, "failed")


def error_from(answer: dict, http_status: int) -> GatewayError:
    code = answer.get("errorCode") or answer.get("ResponseCode") or f"http_{http_status}"
    message = answer.get("errorMessage") or answer.get("ResponseDescription") or answer.get("text") or "refused"
    return GatewayError(code, message)


def metadata_items(items) -> dict:
    """CallbackMetadata.Item as {Name: Value}; an item without Value (e.g. Balance) maps to None."""
    if not isinstance(items, list):
        return {}
    return {item["Name"]: item.get("Value") for item in items if isinstance(item, dict) and "Name" in item}


class MpesaGateway(Gateway):
    method = "mpesa"
    provider = "mpesa"

    # --- configuration ---------------------------------------------------------------------------
    @staticmethod
    def uses_sandbox() -> bool:
        return not (settings.MPESA_CONSUMER_KEY and settings.MPESA_CONSUMER_SECRET)

    def base_url(self) -> str:
        if self.uses_sandbox():
            return sandbox_url("mpesa")
        return BASES["production" if settings.MPESA_ENV == "production" else "sandbox"]

    def credentials(self) -> tuple[str, str]:
        if self.uses_sandbox():
            return "sandbox-consumer-key", "sandbox-consumer-secret"
        return settings.MPESA_CONSUMER_KEY, settings.MPESA_CONSUMER_SECRET

    @staticmethod
    def password(timestamp: str) -> str:
        raw = f"{settings.MPESA_SHORTCODE}{settings.MPESA_PASSKEY}{timestamp}"
        return base64.b64encode(raw.encode()).decode()

    @staticmethod
    def timestamp() -> str:
        return timezone.now().astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")

    @staticmethod
    def party_b() -> str:
        if settings.MPESA_TRANSACTION_TYPE == TILL:
            if not settings.MPESA_TILL_NUMBER:
                raise GatewayError("not_configured", "MPESA_TILL_NUMBER is required for CustomerBuyGoodsOnline")
            return settings.MPESA_TILL_NUMBER
        return settings.MPESA_SHORTCODE

    # --- token and authenticated calls -----------------------------------------------------------
    def token(self, payment, stale="") -> str:
        return shared_token("mpesa", lambda: self.fetch_token(payment), stale=stale)

    def fetch_token(self, payment):
        key, secret = self.credentials()
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        status, answer = self.call(payment, "mpesa.token", "GET", self.base_url() + "/oauth/v1/generate",
                                   params={"grant_type": "client_credentials"},
                                   headers={"Authorization": f"Basic {basic}"}, safe=True)
        if status != 200 or not answer.get("access_token"):
            raise error_from(answer, status)
        return answer["access_token"], int(answer.get("expires_in") or 3599)

    def post(self, payment, action, path, body, *, safe):
        """POST with the shared bearer token; a token refused as invalid is replaced once and the call sent
        again (the provider did not act on a request it refused)."""
        token = self.token(payment)
        status, answer = self.call(payment, action, "POST", self.base_url() + path, body=body,
                                   headers={"Authorization": f"Bearer {token}"}, safe=safe)
        if answer.get("errorCode") == INVALID_TOKEN:
            token = self.token(payment, stale=token)
            status, answer = self.call(payment, action, "POST", self.base_url() + path, body=body,
                                       headers={"Authorization": f"Bearer {token}"}, safe=safe)
        return status, answer

    # --- STK Push --------------------------------------------------------------------------------
    def initiate(self, payment) -> GatewayResult:
        amount = whole_shillings(payment.amount)
        phone = normalise_msisdn(payment.phone_number)
        receipt_number = payment.sale.receipt_number
        timestamp = self.timestamp()
        body = {
            "BusinessShortCode": settings.MPESA_SHORTCODE,
            "Password": self.password(timestamp),
            "Timestamp": timestamp,
            "TransactionType": TILL if settings.MPESA_TRANSACTION_TYPE == TILL else PAYBILL,
            "Amount": amount,
            "PartyA": phone,
            "PartyB": self.party_b(),
            "PhoneNumber": phone,
            "CallBackURL": public_url(f"/api/payments/webhooks/mpesa/callback/{payment.callback_token}/"),
            "AccountReference": receipt_number[:12],
            "TransactionDesc": f"Sale {receipt_number}"[:13],
        }
        status, answer = self.post(payment, "mpesa.stk_push", "/mpesa/stkpush/v1/processrequest", body, safe=False)
        if str(answer.get("ResponseCode")) != "0" or not answer.get("CheckoutRequestID"):
            raise error_from(answer, status)
        return GatewayResult(
            status="processing", provider_reference=answer["CheckoutRequestID"],
            secondary_reference=answer.get("MerchantRequestID", ""), amount=to_decimal(amount), currency="KES",
            phone_number=phone, result_message=answer.get("CustomerMessage", ""), raw=answer,
        )

    # --- STK Query -------------------------------------------------------------------------------
    def verify(self, payment) -> GatewayResult:
        reference = payment.provider_reference
        if not reference:
            return GatewayResult(status="pending", result_message="No STK push was accepted for this payment.")
        timestamp = self.timestamp()
        body = {"BusinessShortCode": settings.MPESA_SHORTCODE, "Password": self.password(timestamp),
                "Timestamp": timestamp, "CheckoutRequestID": reference}
        status, answer = self.post(payment, "mpesa.stk_query", "/mpesa/stkpushquery/v1/query", body, safe=True)
        if answer.get("errorCode") == IN_PROCESS and "process" in str(answer.get("errorMessage", "")).lower():
            return GatewayResult(status="pending", provider_reference=reference, result_code=IN_PROCESS,
                                 result_message=answer.get("errorMessage", ""), raw=answer)
        if "ResultCode" not in answer:
            raise error_from(answer, status)
        code = str(answer["ResultCode"])
        return GatewayResult(
            status="pending" if code == STILL_PROCESSING_RESULT else result_status(code),
            provider_reference=reference, secondary_reference=answer.get("MerchantRequestID", ""),
            result_code=code, result_message=answer.get("ResultDesc", ""), raw=answer,
        )

    # --- callbacks: STK result and reversal result ----------------------------------------------
    def parse_callback(self, body: bytes, headers: dict, token: str | None = None) -> ParsedCallback:
        """An STK callback (kind "payment", lookup by CheckoutRequestID) or a reversal result (kind
        "refund", lookup by the Refund's provider_reference = ConversationID). The per-payment token
        of the URL is compared to Payment.callback_token by the services, not here."""
        data = parse_json(body)
        if isinstance(data.get("Result"), dict):
            return self.parse_reversal_result(data)
        stk = (data.get("Body") or {}).get("stkCallback") if isinstance(data.get("Body"), dict) else None
        if not isinstance(stk, dict) or not stk.get("CheckoutRequestID") or "ResultCode" not in stk:
            raise CallbackError("not an STK callback: Body.stkCallback.CheckoutRequestID/ResultCode missing")
        try:
            code = str(int(stk["ResultCode"]))
        except (TypeError, ValueError) as exc:
            raise CallbackError(f"ResultCode is not a number: {stk['ResultCode']!r}") from exc
        items = metadata_items((stk.get("CallbackMetadata") or {}).get("Item"))
        phone = items.get("PhoneNumber")
        return ParsedCallback(
            status=result_status(code), provider_reference=stk["CheckoutRequestID"],
            secondary_reference=str(stk.get("MerchantRequestID") or ""),
            receipt=str(items.get("MpesaReceiptNumber") or ""), amount=to_decimal(items.get("Amount")),
            currency="KES" if items else "", phone_number=str(phone) if phone is not None else "",
            result_code=code, result_message=str(stk.get("ResultDesc") or ""), raw=data,
            lookup={"provider_reference": stk["CheckoutRequestID"]}, signature_ok=None, kind="payment",
        )

    @staticmethod
    def parse_reversal_result(data) -> ParsedCallback:
        result = data["Result"]
        if not result.get("ConversationID") or "ResultCode" not in result:
            raise CallbackError("not a reversal result: Result.ConversationID/ResultCode missing")
        code = str(result["ResultCode"])
        params = (result.get("ResultParameters") or {}).get("ResultParameter") or []
        values = {p.get("Key"): p.get("Value") for p in params if isinstance(p, dict)}
        return ParsedCallback(
            status="completed" if code == "0" else "failed", provider_reference=result["ConversationID"],
            secondary_reference=str(result.get("OriginatorConversationID") or ""),
            receipt=str(result.get("TransactionID") or ""), amount=to_decimal(values.get("Amount")),
            currency="KES" if code == "0" else "", result_code=code,
            result_message=str(result.get("ResultDesc") or ""), raw=data,
            lookup={"provider_reference": result["ConversationID"]}, signature_ok=None, kind="refund",
        )

    def acknowledgement(self, parsed_or_none) -> tuple[int, dict]:
        return 200, {"ResultCode": 0, "ResultDesc": "Accepted"}

    # --- reversal (refund) -----------------------------------------------------------------------
    def refund(self, payment, amount, refund=None) -> GatewayResult:
        """Ask Daraja to reverse the payment; the result arrives later at the reversal ResultURL."""
        if not payment.receipt:
            raise ServiceError("This M-Pesa payment has no receipt number to reverse.", field="payment",
                               code="no_receipt")
        credential = settings.MPESA_SECURITY_CREDENTIAL or ("sandbox-credential" if self.uses_sandbox() else "")
        if not credential:
            raise GatewayError("not_configured", "MPESA_SECURITY_CREDENTIAL is required for reversals")
        result_url = public_url(f"/api/payments/webhooks/mpesa/reversal/{payment.callback_token}/")
        body = {
            "Initiator": settings.MPESA_INITIATOR_NAME,
            "SecurityCredential": credential,
            "CommandID": "TransactionReversal",
            "TransactionID": payment.receipt,
            "Amount": whole_shillings(amount),
            "ReceiverParty": self.party_b(),
            "RecieverIdentifierType": "11",
            "ResultURL": result_url,
            "QueueTimeOutURL": result_url,
            "Remarks": ((refund.reason if refund is not None else "") or "Refund")[:100],
            "Occasion": payment.sale.receipt_number,
        }
        status, answer = self.post(payment, "mpesa.reversal", "/mpesa/reversal/v1/request", body, safe=False)
        if str(answer.get("ResponseCode")) != "0" or not answer.get("ConversationID"):
            raise error_from(answer, status)
        return GatewayResult(
            status="processing", provider_reference=answer["ConversationID"],
            secondary_reference=answer.get("OriginatorConversationID", ""), amount=to_decimal(body["Amount"]),
            currency="KES", result_message=answer.get("ResponseDescription", ""), raw=answer,
        )
