"""The one interface every payment gateway speaks, and the plumbing they share.

A gateway talks to its provider and reports what the provider said; it never changes a Payment.
The services (pos.payments.services) apply the results. Every outbound call and its answer is
written as a PaymentEvent row with secrets blanked out.

GatewayResult.status is a pos.payments.models.PaymentStatus value:
  processing  the provider accepted the request; the customer has not paid yet
  completed   paid (or, for refund(), refunded)
  failed      declined, wrong PIN, insufficient balance, amount or currency mismatch ...
  cancelled   the customer cancelled (M-Pesa 1032, Airtel refused)
  expired     the customer never answered (M-Pesa 1037/1019, Airtel PIN not entered / timeout)
  pending     the provider does not know yet (ask again later)
"""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext

from pos.core.errors import ServiceError

# Keys whose values never reach the PaymentEvent log (compared lower-case).
SECRET_KEYS = {
    "password", "securitycredential", "client_secret", "access_token", "authorization", "verif-hash",
    "consumer_secret", "secret", "hash",
}
HIDDEN = "***"
RETRY_DELAYS = (0.2, 0.5)  # connection errors on calls that are safe to repeat


@dataclass
class GatewayResult:
    status: str
    provider_reference: str = ""
    secondary_reference: str = ""
    receipt: str = ""
    amount: Decimal | None = None
    currency: str = ""
    phone_number: str = ""
    result_code: str = ""
    result_message: str = ""
    redirect_url: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class ParsedCallback(GatewayResult):
    lookup: dict = field(default_factory=dict)
    signature_ok: bool | None = None
    kind: str = "payment"


class CallbackError(Exception):
    """The callback body is malformed; the reason is str(exc). Record it and acknowledge it."""


class GatewayError(Exception):
    """The provider refused the request or could not be reached.

    `unknown` is True when we cannot tell whether the provider acted: the request may have reached it
    (read timeout, connection dropped after sending, a 5xx or an answer that is not the provider's
    own error). A payment or refund is then unconfirmed, never failed. False: the provider gave a
    definite refusal, or the request provably never left (connection refused)."""

    def __init__(self, code, message, *, unknown=False):
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.message = str(message)
        self.unknown = unknown


def never_sent(exc) -> bool:
    """The request provably never reached the provider: connection refused / connect timeout."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(getattr(exc, "args", ""))
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text


MAX_SANE_AMOUNT = Decimal(1000000000)


def not_sent_if_failing(fetch_token):
    """The OAuth token, fetched before the real call: if that fails, the real call was never sent, so the
    failure is definite for it (the payment is not left unconfirmed)."""
    try:
        return fetch_token()
    except GatewayError as exc:
        exc.unknown = False
        raise


def normalise_msisdn(phone: str) -> str:
    """A Kenyan mobile number as 2547XXXXXXXX / 2541XXXXXXXX.

    Accepts 0708374149, +254708374149, 254708374149 and 708374149 (spaces and dashes ignored).
    """
    digits = re.sub(r"[\s\-()]", "", str(phone or ""))
    digits = digits.removeprefix("+")
    if re.fullmatch(r"0[17]\d{8}", digits):
        digits = "254" + digits[1:]
    elif re.fullmatch(r"[17]\d{8}", digits):
        digits = "254" + digits
    if not re.fullmatch(r"254[17]\d{8}", digits):
        raise ServiceError(gettext("Enter a Kenyan mobile number such as 0712 345 678 or +254712345678."),
                           field="phone_number", code="invalid_phone")
    return digits


def whole_shillings(amount) -> int:
    """Mobile money moves whole shillings: refuse cents rather than round a customer's bill."""
    value = Decimal(amount)
    if value != value.to_integral_value() or value < 1:
        raise ServiceError(gettext("Mobile money takes whole shillings of at least 1; %(amount)s is not.")
                           % {"amount": value},
                           field="amount", code="not_whole_shillings")
    return int(value)


def to_decimal(value) -> Decimal | None:
    """An amount from a provider's JSON (int, float or string) as a Decimal, None when absent or invalid.
    An absurd amount (not finite, negative, above MAX_SANE_AMOUNT) is a CallbackError: the body is
    stored and acknowledged, and changes nothing."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_SANE_AMOUNT:
        raise CallbackError(f"absurd amount {str(value)[:40]!r}")
    return amount


def wire_amount(amount: Decimal):
    """A Decimal amount as the JSON number providers expect: an int when whole, else 2 decimals."""
    amount = Decimal(amount)
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount.quantize(Decimal("0.01")))


def parse_json(body) -> dict:
    """A callback body (bytes/str) as a dict, or CallbackError."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CallbackError(f"body is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise CallbackError("body is not a JSON object")
    return data


def redact(value, hide=()):
    """A copy of `value` with secret keys blanked and the strings in `hide` replaced."""
    if isinstance(value, dict):
        return {k: HIDDEN if str(k).lower() in SECRET_KEYS else redact(v, hide) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, hide) for v in value]
    if isinstance(value, str):
        for secret in hide:
            if secret:
                value = value.replace(secret, HIDDEN)
    return value


def header(headers: dict, name: str) -> str:
    """A request header by name, whatever its spelling ("verif-hash", "Verif-Hash", "HTTP_VERIF_HASH")."""
    wanted = name.lower().replace("_", "-")
    for key, value in (headers or {}).items():
        key = str(key).lower().replace("_", "-")
        if key == wanted or key == "http-" + wanted:
            return str(value)
    return ""


def public_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def sandbox_url(provider: str) -> str:
    return settings.SANDBOX_BASE_URL.rstrip("/") + "/" + provider


class Gateway:
    """Base of every gateway: HTTP with timeouts, retries only where safe, and the call log."""

    method = ""
    provider = ""

    def __init__(self):
        self.session = requests.Session()

    # The interface (each provider module implements all five):
    #   initiate(payment) -> GatewayResult           start collecting payment.amount
    #   verify(payment) -> GatewayResult             ask the provider for the truth
    #   parse_callback(body, headers, token) -> ParsedCallback   (CallbackError when malformed)
    #   acknowledgement(parsed_or_none) -> (http_status, json)  what the provider expects back
    #   refund(payment, amount, refund=None) -> GatewayResult   completed / processing / failed
    #   refund_status(payment, refund) -> GatewayResult  ask about a refund left processing
    #   prepare(payment) -> dict   our own references, stored on the payment BEFORE initiate() is sent
    def prepare(self, payment) -> dict:
        return {}

    def refund_status(self, payment, refund) -> GatewayResult:
        return GatewayResult(status="pending", result_message=f"{self.provider} has no refund enquiry.")

    def parse_callback(self, body: bytes, headers: dict, token: str | None = None, route=None) -> ParsedCallback:
        raise CallbackError(f"{self.method} sends no callbacks")

    def acknowledgement(self, parsed_or_none) -> tuple[int, dict]:
        return 200, {"received": True}

    # --- HTTP and logging ------------------------------------------------------------------------
    def call(self, payment, action, http_method, url, *, body=None, params=None, headers=None, safe=False):
        """Send one request and log it; returns (http_status, answer dict).

        `safe`: the call may be repeated (token, query): connection errors are retried. Anything
        else that goes wrong on the wire raises GatewayError after logging.
        """
        hide = [getattr(payment, "callback_token", "")]
        logged = {"method": http_method, "url": redact(url, hide)}
        if params:
            logged["params"] = redact(params, hide)
        if body is not None:
            logged["body"] = redact(body, hide)
        attempts = 1 + (len(RETRY_DELAYS) if safe else 0)
        for attempt in range(attempts):
            try:
                response = self.session.request(http_method, url, json=body, params=params, headers=headers,
                                                timeout=settings.PAYMENT_HTTP_TIMEOUT)
                break
            except requests.ConnectionError as exc:
                if attempt + 1 < attempts and (safe or never_sent(exc)) and not isinstance(exc, requests.ReadTimeout):
                    time.sleep(RETRY_DELAYS[attempt])
                    continue
                self.log(payment, action, logged, error=f"connection error: {exc}")
                if never_sent(exc):
                    raise GatewayError("network_error", f"{self.provider} could not be reached") from exc
                raise GatewayError("no_answer", f"{self.provider}'s answer was lost (connection dropped)",
                                   unknown=True) from exc
            except requests.RequestException as exc:
                self.log(payment, action, logged, error=f"{exc.__class__.__name__}: {exc}")
                raise GatewayError("no_answer", f"{self.provider} did not answer in time", unknown=True) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {"text": response.text[:500], "not_json": True}
        if not isinstance(answer, dict):
            answer = {"data": answer}
        error = "" if response.ok else f"HTTP {response.status_code}"
        self.log(payment, action, logged, response=redact(answer, hide), http_status=response.status_code,
                 error=error)
        return response.status_code, answer

    @staticmethod
    def log(payment, action, request, *, response=None, http_status=None, error=""):
        from pos.payments.models import PaymentEvent

        if payment is None or payment.pk is None:
            return
        PaymentEvent.objects.create(payment=payment, action=action, request=request, response=response or {},
                                    http_status=http_status, error=error[:300])


_local = threading.local()


def get_gateway(method: str) -> Gateway:
    """The gateway for a payment method (cash, mpesa, airtel, card); card by settings.CARD_PROVIDER.

    One instance (and HTTP session) per thread and class; settings are read at call time.
    """
    from pos.payments.gateways.airtel import AirtelGateway
    from pos.payments.gateways.cash import CashGateway
    from pos.payments.gateways.flutterwave import FlutterwaveGateway
    from pos.payments.gateways.mpesa import MpesaGateway

    classes = {"cash": CashGateway, "mpesa": MpesaGateway, "airtel": AirtelGateway}
    if method == "card":
        card = {"flutterwave": FlutterwaveGateway}.get(settings.CARD_PROVIDER)
        if card is None:
            raise ImproperlyConfigured(f"CARD_PROVIDER={settings.CARD_PROVIDER!r} is not supported (use flutterwave)")
        classes["card"] = card
    if method not in classes:
        raise ServiceError(f"Unknown payment method {method!r}.", field="method", code="invalid_method")
    cls = classes[method]
    cache = _local.__dict__.setdefault("gateways", {})
    if cls not in cache:
        cache[cls] = cls()
    return cache[cls]
