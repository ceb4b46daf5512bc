"""Registering the shop with Daraja: the C2B validation/confirmation URLs and Pull Transactions.

Daraja refuses URLs containing words such as mpesa, safaricom, exec, cmd, sql or query, so the C2B
endpoints live under the neutral path /api/c2b/notify/<secret token>/...; the token (C2B_URL_TOKEN) is
the only thing that tells Daraja's unsigned notifications from forged ones.
"""

from django.conf import settings

from pos.core.errors import ServiceError
from pos.payments.gateways.base import GatewayError, get_gateway, public_url

FORBIDDEN_WORDS = ("mpesa", "m-pesa", "safaricom", "exec", "cmd", "sql", "query")
RESPONSE_TYPES = ("Completed", "Cancelled")


def _url(kind):
    return public_url(f"/api/c2b/notify/{settings.C2B_URL_TOKEN}/{kind}/")


def c2b_urls() -> dict:
    """The URLs Daraja will call, checked against the words it refuses."""
    if not settings.C2B_URL_TOKEN:
        raise ServiceError("Set C2B_URL_TOKEN (a long random secret) before registering the C2B URLs.",
                           field="C2B_URL_TOKEN", code="not_configured")
    urls = {"ConfirmationURL": _url("confirmation"), "ValidationURL": _url("validation")}
    for name, url in urls.items():
        bad = [word for word in FORBIDDEN_WORDS if word in url.lower()]
        if bad:
            raise ServiceError(f"Daraja refuses URLs containing {', '.join(bad)}: {name} would be {url}. Change "
                               "PUBLIC_BASE_URL or C2B_URL_TOKEN.", field="C2B_URL_TOKEN", code="forbidden_word")
    return urls


def _post(action, path, body):
    try:
        status, answer = get_gateway("mpesa").post(None, action, path, body, safe=False)
    except GatewayError as exc:
        raise ServiceError(f"M-Pesa could not be reached: {exc.message}", field="mpesa",
                           code="provider_unreachable") from None
    return status, answer


def register_urls(shortcode=None, response_type=None) -> dict:
    """POST /mpesa/c2b/v2/registerurl for the shop's shortcode. Returns Daraja's answer."""
    response_type = response_type or settings.C2B_RESPONSE_TYPE
    if response_type not in RESPONSE_TYPES:
        raise ServiceError(f"ResponseType must be one of {', '.join(RESPONSE_TYPES)}.", field="response_type")
    body = {"ShortCode": str(shortcode or settings.C2B_SHORTCODE), "ResponseType": response_type, **c2b_urls()}
    status, answer = _post("c2b.registerurl", "/mpesa/c2b/v2/registerurl", body)
    if str(answer.get("ResponseCode")) != "0":
        message = answer.get("errorMessage") or answer.get("ResponseDescription") or f"HTTP {status}"
        raise ServiceError(f"Daraja refused the registration: {message}", field="mpesa", code="registration_refused")
    return answer


def register_pull(shortcode=None, nominated_number=None) -> dict:
    """POST /pulltransactions/v1/register (once per shortcode) so Pull Transactions may be queried."""
    body = {"ShortCode": str(shortcode or settings.C2B_SHORTCODE), "RequestType": "Pull",
            "NominatedNumber": str(nominated_number or settings.C2B_PULL_NOMINATED_NUMBER or ""),
            "CallBackURL": _url("pull")}
    if not settings.C2B_URL_TOKEN:
        raise ServiceError("Set C2B_URL_TOKEN first.", field="C2B_URL_TOKEN", code="not_configured")
    status, answer = _post("c2b.pull_register", "/pulltransactions/v1/register", body)
    if str(answer.get("ResponseStatus", answer.get("ResponseCode"))) not in ("1000", "0"):
        message = answer.get("errorMessage") or answer.get("ResponseDescription") or f"HTTP {status}"
        raise ServiceError(f"Daraja refused the Pull Transactions registration: {message}", field="mpesa",
                           code="registration_refused")
    return answer


def register_with_sandbox_in_background(log=None, timeout=60.0):
    """`runshop`: once the web server answers, register the C2B URLs (and Pull Transactions) with the M-Pesa
    simulator it serves, so "the customer pays the till" works in the demo without a phone. Only while
    M-Pesa is simulated (no credentials): with real Daraja, register once with `manage.py register_c2b`."""
    import threading
    import time

    from django.db import connections

    from pos.payments.gateways.mpesa import MpesaGateway
    from pos.payments.sandbox.http import enabled

    if not MpesaGateway.uses_sandbox() or not enabled("mpesa") or not settings.C2B_URL_TOKEN:
        return None

    def run():
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    register_urls()
                    register_pull()
                except ServiceError as exc:
                    if exc.code != "provider_unreachable" or time.monotonic() > deadline:
                        if log:
                            log.write(f"C2B URLs not registered with the sandbox: {exc.message}\n")
                        return
                    time.sleep(1)
                    continue
                if log:
                    log.write(f"C2B URLs registered with the M-Pesa sandbox for {settings.C2B_SHORTCODE}: customers "
                              f"can pay the till at {settings.SANDBOX_BASE_URL}/mpesa/c2b/phone/\n")
                return
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="c2b-register", daemon=True)
    thread.start()
    return thread
