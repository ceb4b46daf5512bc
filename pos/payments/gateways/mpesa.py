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
    not_sent_if_failing,
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

# ResultCode -> payment status; anything else not 0 (including non-numeric codes such as "SFC_IC0003"
# or "BW-HTTP-100300" seen in real callbacks) is a definite failure with that cause.
RESULT_STATUS = {"0": "completed", "1032": "cancelled", "1031": "cancelled", "1037": "expired", "1019": "expired"}


def result_status(code: str) -> str:
    return RESULT_STATUS.get(code, "failed")


def result_code(value) -> str:
    """A ResultCode as text: 0, "0", 0.0 -> "0"; "SFC_IC0003" stays as it is."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text[:40]
    return str(int(number)) if number == int(number) else text[:40]


def error_from(answer: dict, http_status: int) -> GatewayError:
    """A refusal: definite when Daraja answered with its own error body (errorCode / ResponseCode);
    otherwise (a proxy's 5xx, an HTML page, garbage) we cannot tell whether it acted."""
    recognised = bool(answer.get("errorCode") or "ResponseCode" in answer)
    code = answer.get("errorCode") or answer.get("ResponseCode") or f"http_{http_status}"
    message = answer.get("errorMessage") or answer.get("ResponseDescription") or answer.get("text") or "refused"
    return GatewayError(code, str(message)[:300], unknown=not recognised)


def callback_path(kind: str, token: str, refund=None) -> str:
    """Our webhook URLs: one path per kind of result (results are routed by URL, not by body)."""
    suffix = f"{refund.pk}/" if refund is not None else ""
    return public_url(f"/api/payments/webhooks/mpesa/{kind}/{token}/{suffix}")


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
        token = not_sent_if_failing(lambda: self.token(payment))
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
            "CallBackURL": callback_path("callback", payment.callback_token),
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
    def parse_callback(self, body: bytes, headers: dict, token: str | None = None, route=None) -> ParsedCallback:
        """By the URL it came to (`route`): an STK callback ("payment", lookup by CheckoutRequestID), a
        reversal result ("reversal"), a reversal queue-timeout notice ("reversal_timeout": not final)
        or a Transaction Status result ("status"). The per-payment token of the URL is compared to
        Payment.callback_token by the services, not here."""
        data = parse_json(body)
        if route in ("reversal", "reversal_timeout", "status") or (route is None and isinstance(data.get("Result"),
                                                                                                   dict)):
            if not isinstance(data.get("Result"), dict):
                raise CallbackError("not a result: Result missing")
            if route == "reversal_timeout":
                return self.parse_queue_timeout(data)
            if route == "status":
                return self.parse_status_result(data)
            return self.parse_reversal_result(data)
        stk = (data.get("Body") or {}).get("stkCallback") if isinstance(data.get("Body"), dict) else None
        if not isinstance(stk, dict) or not stk.get("CheckoutRequestID") or "ResultCode" not in stk:
            raise CallbackError("not an STK callback: Body.stkCallback.CheckoutRequestID/ResultCode missing")
        code = result_code(stk["ResultCode"])
        if not code:
            raise CallbackError("ResultCode is empty")
        metadata = stk.get("CallbackMetadata") if isinstance(stk.get("CallbackMetadata"), dict) else {}
        items = metadata_items(metadata.get("Item"))
        phone = items.get("PhoneNumber")
        return ParsedCallback(
            status=result_status(code), provider_reference=str(stk["CheckoutRequestID"])[:100],
            secondary_reference=str(stk.get("MerchantRequestID") or "")[:100],
            receipt=str(items.get("MpesaReceiptNumber") or "")[:100], amount=to_decimal(items.get("Amount")),
            currency="KES" if items else "", phone_number=str(phone)[:20] if phone is not None else "",
            result_code=code, result_message=str(stk.get("ResultDesc") or "")[:300], raw=data,
            lookup={"provider_reference": str(stk["CheckoutRequestID"])[:100]}, signature_ok=None, kind="payment",
        )

    @staticmethod
    def result_values(result) -> dict:
        params = (result.get("ResultParameters") or {}) if isinstance(result.get("ResultParameters"), dict) else {}
        params = params.get("ResultParameter") or []
        if isinstance(params, dict):
            params = [params]
        return {p.get("Key"): p.get("Value") for p in params if isinstance(p, dict)} if isinstance(params, list) else {}

    @classmethod
    def parse_reversal_result(cls, data) -> ParsedCallback:
        """The reversal's result at ResultURL: ResultCode 0 (int or "0") = reversed; the Amount in
        ResultParameters is what was reversed. ResultType 1 is a timeout notice, not final."""
        result = data["Result"]
        if "ResultCode" not in result:
            raise CallbackError("not a reversal result: Result.ResultCode missing")
        code = result_code(result["ResultCode"])
        values = cls.result_values(result)
        if str(result.get("ResultType")) == "1" and code != "0":
            status = "pending"
        else:
            status = "completed" if code == "0" else "failed"
        return ParsedCallback(
            status=status, provider_reference=str(result.get("ConversationID") or "")[:100],
            secondary_reference=str(result.get("OriginatorConversationID") or "")[:100],
            receipt=str(result.get("TransactionID") or "")[:100], amount=to_decimal(values.get("Amount")),
            currency="KES" if code == "0" else "", result_code=code,
            result_message=str(result.get("ResultDesc") or "")[:300], raw=data,
            lookup={"provider_reference": str(result.get("ConversationID") or "")}, signature_ok=None, kind="refund",
        )

    @staticmethod
    def parse_queue_timeout(data) -> ParsedCallback:
        """A notice at QueueTimeOutURL ("The service request timed out", ResultType 1): NOT final — the
        reversal may still happen and its real result may follow at ResultURL."""
        result = data["Result"]
        return ParsedCallback(
            status="pending", provider_reference=str(result.get("ConversationID") or "")[:100],
            secondary_reference=str(result.get("OriginatorConversationID") or "")[:100],
            result_code=result_code(result.get("ResultCode", "timeout")),
            result_message=str(result.get("ResultDesc") or "The service request timed out")[:300], raw=data,
            lookup={}, signature_ok=None, kind="refund",
        )

    @classmethod
    def parse_status_result(cls, data) -> ParsedCallback:
        """A Transaction Status result about a reversal: ResultCode 0 and TransactionStatus "Completed"
        = reversed (Amount = how much); another TransactionStatus ("Failed", "Declined") = not reversed;
        a failed query (ResultCode not 0) says nothing final."""
        result = data["Result"]
        code = result_code(result.get("ResultCode", ""))
        values = cls.result_values(result)
        state = str(values.get("TransactionStatus") or "").lower()
        if code != "0" or not state:
            status = "pending"
        elif state == "completed":
            status = "completed"
        elif state in ("failed", "declined", "cancelled", "reversal failed"):
            status = "failed"
        else:
            status = "pending"
        return ParsedCallback(
            status=status, provider_reference=str(values.get("ConversationID") or "")[:100],
            receipt=str(values.get("ReceiptNo") or "")[:100], amount=to_decimal(values.get("Amount")),
            currency="KES" if status == "completed" else "", result_code=code or "status",
            result_message=str(values.get("TransactionStatus") or result.get("ResultDesc") or "")[:300], raw=data,
            lookup={}, signature_ok=None, kind="refund",
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
        body = {
            "Initiator": settings.MPESA_INITIATOR_NAME,
            "SecurityCredential": credential,
            "CommandID": "TransactionReversal",
            "TransactionID": payment.receipt,
            "Amount": whole_shillings(amount),
            "ReceiverParty": self.party_b(),
            "RecieverIdentifierType": "11",
            "ResultURL": callback_path("reversal", payment.callback_token, refund),
            "QueueTimeOutURL": callback_path("reversal-timeout", payment.callback_token, refund),
            "Remarks": ((refund.reason if refund is not None else "") or "Refund")[:100],
            "Occasion": payment.sale.receipt_number,
        }
        status, answer = self.post(payment, "mpesa.reversal", "/mpesa/reversal/v1/request", body, safe=False)
        if str(answer.get("ResponseCode")) != "0" or not answer.get("ConversationID"):
            raise error_from(answer, status)
        return GatewayResult(
            status="processing", provider_reference=str(answer["ConversationID"])[:100],
            secondary_reference=str(answer.get("OriginatorConversationID", ""))[:100], amount=None,
            currency="KES", result_message=str(answer.get("ResponseDescription", ""))[:300], raw=answer,
        )

    def refund_status(self, payment, refund) -> GatewayResult:
        """Ask Transaction Status about a reversal whose result has not arrived. The answer only
        acknowledges; the truth arrives at the status ResultURL of this refund. Returns pending."""
        if not (refund.provider_reference or refund.provider_secondary_reference):
            return GatewayResult(status="pending", result_message="The reversal request was never acknowledged.")
        credential = settings.MPESA_SECURITY_CREDENTIAL or ("sandbox-credential" if self.uses_sandbox() else "")
        body = {
            "Initiator": settings.MPESA_INITIATOR_NAME,
            "SecurityCredential": credential,
            "CommandID": "TransactionStatusQuery",
            "TransactionID": payment.receipt,
            "OriginatorConversationID": refund.provider_secondary_reference,
            "ConversationID": refund.provider_reference,
            "PartyA": settings.MPESA_SHORTCODE,
            "IdentifierType": "4",
            "ResultURL": callback_path("status", payment.callback_token, refund),
            "QueueTimeOutURL": callback_path("status-timeout", payment.callback_token, refund),
            "Remarks": "Refund check",
            "Occasion": f"refund {refund.pk}",
        }
        status, answer = self.post(payment, "mpesa.transaction_status", "/mpesa/transactionstatus/v1/query", body,
                                   safe=True)
        if str(answer.get("ResponseCode")) != "0":
            raise error_from(answer, status)
        return GatewayResult(status="pending", result_message="Transaction Status asked; the result comes back "
                                                              "at the status URL.", raw=answer)
