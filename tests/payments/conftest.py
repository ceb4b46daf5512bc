# ==== Gateway and sandbox fixtures (gateways helper): gw_sale, gw_payment, sandbox, callback_catcher ====
import json
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connections

from pos.payments.models import Payment, ProviderToken
from pos.payments.sandbox import state as sandbox_state
from pos.sales.models import Sale


@pytest.fixture
def other_manager(db):
    """A second manager: refunds need four eyes (the approver is not the requester)."""
    from pos.accounts.models import Role
    from tests.factories import UserFactory

    return UserFactory(role=Role.MANAGER, username="manager2")


@pytest.fixture
def gw_sale(db, cashier):
    """A minimal sale row for gateway tests (the sales services are not what is tested here)."""
    counter = iter(range(1, 10**6))

    def make(total="100.00", **fields):
        number = f"GW-{next(counter):05d}"
        return Sale.objects.create(receipt_number=number, cashier=cashier, total=Decimal(total),
                                   status="pending_payment", **fields)
    return make


@pytest.fixture
def gw_payment(gw_sale):
    """gw_payment(method, amount, phone_number="", **fields) -> a Payment row of a new sale."""
    def make(method="mpesa", amount="100.00", phone_number="", **fields):
        sale = gw_sale(total=amount)
        return Payment.objects.create(sale=sale, method=method, amount=Decimal(amount), currency="KES",
                                      phone_number=phone_number, status="processing", **fields)
    return make


@pytest.fixture
def sandbox(live_server, settings):
    """The simulators on the live server, as every gateway's provider, with short callback delays and a
    clean state (sandbox memory and shared tokens)."""
    settings.SANDBOX_BASE_URL = live_server.url + "/sandbox"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_CALLBACK_DELAY = 0.2
    settings.MPESA_CONSUMER_KEY = settings.MPESA_CONSUMER_SECRET = ""
    settings.AIRTEL_CLIENT_ID = settings.AIRTEL_CLIENT_SECRET = ""
    settings.FLUTTERWAVE_SECRET_KEY = ""
    settings.FLUTTERWAVE_SECRET_HASH = "sandbox-secret-hash"
    settings.AIRTEL_CALLBACK_SECRET = ""
    settings.MPESA_TRANSACTION_TYPE = "CustomerPayBillOnline"
    sandbox_state.reset()
    ProviderToken.objects.all().delete()
    return live_server


class CallbackCatcher:
    """A tiny HTTP server standing in for our webhooks: records every POST and answers 200."""

    def __init__(self):
        self.received = []
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                catcher.received.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                         "json": json.loads(body or b"null")})
                answer = b'{"ResultCode": 0, "ResultDesc": "Accepted"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count=1, timeout=10.0):
        """The first `count` callbacks, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"expected {count} callbacks, got {len(self.received)}"
        return self.received[:count]


@pytest.fixture
def callback_catcher(sandbox, settings):
    """The sandbox calls back here (PUBLIC_BASE_URL points at the catcher) instead of our webhooks."""
    catcher = CallbackCatcher()
    settings.PUBLIC_BASE_URL = catcher.url
    yield catcher
    catcher.server.shutdown()
    catcher.server.server_close()


@pytest.fixture
def unused_port():
    """A loopback port nothing listens on (for network-error tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def in_threads(count, target):
    """Run target() in `count` threads started together; returns their results (exceptions re-raised)."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait()
            results[i] = target()
        except Exception as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results

# ==== end of gateway and sandbox fixtures ====
