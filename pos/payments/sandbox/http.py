"""Plumbing shared by the simulators: the on/off switch, JSON bodies, and callbacks sent later."""

import json
import logging
import threading
from functools import wraps

import requests
from django.conf import settings
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt

log = logging.getLogger("pos.payments.sandbox")

CREDENTIALS = {
    "mpesa": ("MPESA_CONSUMER_KEY", "MPESA_CONSUMER_SECRET"),
    "airtel": ("AIRTEL_CLIENT_ID", "AIRTEL_CLIENT_SECRET"),
    "flutterwave": ("FLUTTERWAVE_SECRET_KEY",),
}


def enabled(provider: str) -> bool:
    """A provider's simulator answers only while that provider has no credentials (the gateways then
    use it) and SANDBOX_ENABLED is not off. With real credentials it is a 404: a public simulator
    that knows the webhook secrets would let anyone forge payments."""
    if not getattr(settings, "SANDBOX_ENABLED", True):
        return False
    return not all(getattr(settings, name, "") for name in CREDENTIALS[provider])


def simulator(provider: str):
    """Decorate a view of the `provider` simulator: csrf-exempt, 404 when disabled."""
    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not enabled(provider):
                raise Http404("sandbox disabled")
            return view(request, *args, **kwargs)
        return wrapper
    return decorate


def json_body(request):
    """The request's JSON object, or None when the body is not one."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def bearer(request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def callback_delay() -> float:
    return float(getattr(settings, "SANDBOX_CALLBACK_DELAY", 3))


_POOL = None
_POOL_LOCK = threading.Lock()


def _pool():
    """A few sender threads shared by every callback: a burst of callbacks queues here instead of
    opening hundreds of connections at once against the (possibly same) server they call."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            _POOL = ThreadPoolExecutor(max_workers=int(getattr(settings, "SANDBOX_CALLBACK_SENDERS", 4)),
                                       thread_name_prefix="sandbox-callback")
        return _POOL


def deliver(url: str, body, *, headers=None, times=1, delay=None) -> None:
    """POST `body` (a dict as JSON, or raw bytes) to `url` after the callback delay, `times` times.

    Like the providers, a callback that fails is logged and not retried. Sent by a small pool of
    threads that touch no database, so it holds no connection and never ties up the web workers it
    calls (the webhooks answer at once; confirming with the provider happens in a task)."""
    wait = callback_delay() if delay is None else delay

    def send():
        for _ in range(times):
            try:
                if isinstance(body, bytes):
                    response = requests.post(url, data=body, headers=headers or {}, timeout=10)
                else:
                    response = requests.post(url, json=body, headers=headers or {}, timeout=10)
                log.info("sandbox callback to %s: HTTP %s", url, response.status_code)
            except requests.RequestException as exc:
                log.warning("sandbox callback to %s failed: %s", url, exc)

    timer = threading.Timer(wait, lambda: _pool().submit(send))
    timer.daemon = True
    timer.start()
