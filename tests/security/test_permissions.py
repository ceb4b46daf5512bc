"""One permission system: no role checks left in the code, and state changes in the admin are confirmed
POSTs limited by permissions."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from pos.payments.models import Payment
from tests.conftest import client_for
from tests.payments.flows import make_sale

ROOT = Path(__file__).resolve().parent.parent.parent / "pos"
ROLE_CHECK = re.compile(r"\.role\s*(==|!=|in\b)|role__in|\.is_cashier\b|\.is_manager\b|\"is_(cashier|manager)\", False"
                        r"|has_role\(|role_permission\(")


def test_no_role_checks_are_left_for_authorisation():
    found = []
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if ROLE_CHECK.search(line) and "config" not in line:
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


@pytest.fixture
def processing(cashier, settings, unused_port):
    settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{unused_port}/sandbox"
    sale = make_sale(cashier, "100.00")
    return Payment.objects.create(sale=sale, method="mpesa", amount=Decimal("100.00"), currency="KES",
                                  status="processing", provider_reference="ws_CO_matrix", phone_number="254708374149")


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def attempts(payment):
    return Payment.objects.get(pk=payment.pk).verify_attempts


@pytest.mark.django_db
def test_verify_now_asks_for_confirmation_and_runs_only_on_post_for_a_manager(manager, processing):
    url = f"/admin/payments/payment/{processing.pk}/verify-now/"
    client = client_for(manager)
    page = client.get(url)
    assert page.status_code == 200 and b"<form method=\"post\"" in page.content
    assert attempts(processing) == 0  # a GET (a link, a prefetch, a crawler) changes nothing
    assert client.post(url).status_code == 302
    assert attempts(processing) == 1


@pytest.mark.django_db
def test_verify_now_is_refused_to_a_bookkeeper_and_hidden_from_another_cashier(bookkeeper, other_cashier,
                                                                              processing):
    url = f"/admin/payments/payment/{processing.pk}/verify-now/"
    assert client_for(bookkeeper).post(url).status_code == 403
    assert client_for(other_cashier).post(url).status_code in (403, 404)
    assert client_for(other_cashier).get(f"/admin/payments/payment/{processing.pk}/change/").status_code in (302, 404)
    assert attempts(processing) == 0
