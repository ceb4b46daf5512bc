"""The manager's back office for received M-Pesa money (unfold admin)."""

from decimal import Decimal

import pytest

from pos.c2b.models import ReceivedPayment
from pos.payments.sandbox import state as sandbox_state
from tests.c2b.conftest import c2b_body
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LIST = "/admin/c2b/receivedpayment/"


def test_manager_sees_unmatched_money_with_age_amount_and_payer(post_c2b, manager):
    post_c2b("confirmation", c2b_body("SKADM00001", "1250.00", FirstName="AKINYI", LastName="OTIENO"))
    page = client_for(manager).get(LIST + "?state__exact=unmatched")
    assert page.status_code == 200
    html = page.content.decode()
    assert "SKADM00001" in html and ("1,250.00" in html or "1250.00" in html)
    assert "AKINYI OTIENO" in html and "0 min" in html


def test_manager_matches_unmatched_money_to_a_waiting_sale(post_c2b, sell, manager):
    post_c2b("confirmation", c2b_body("SKADM00002", "300.00", bill_ref="typo", kind="Pay Bill"))
    first, second = sell("300.00"), sell("300.00")
    receipt = ReceivedPayment.objects.get()
    url = f"{LIST}{receipt.pk}/match-to-sale/"
    client = client_for(manager)
    assert client.get(url).status_code == 200
    refused = client.post(url, {"sale": "S-999999"})
    assert refused.status_code == 200 and "No sale S-999999" in refused.content.decode()
    done = client.post(url, {"sale": second.receipt_number.lower()})
    assert done.status_code == 302
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == "paid" and first.status == "pending_payment"
    receipt.refresh_from_db()
    assert (receipt.state, receipt.match_rule, receipt.matched_by) == ("matched", "manager", manager)


def test_deposit_action_and_no_deletion(post_c2b, manager, cashier):
    post_c2b("confirmation", c2b_body("SKADM00003", "75.00"))
    receipt = ReceivedPayment.objects.get()
    client = client_for(manager)
    client.post(LIST, {"action": "record_deposit", "_selected_action": [receipt.pk]})
    receipt.refresh_from_db()
    assert receipt.state == "deposit" and "WANJIKU KAMAU" in receipt.note
    assert client.post(f"{LIST}{receipt.pk}/delete/").status_code == 403
    assert ReceivedPayment.objects.filter(amount=Decimal("75.00")).exists()
    assert client_for(cashier).get(LIST).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_register_button_registers_with_the_simulator(daraja, manager):
    answer = client_for(manager).get(f"{LIST}register-urls/")
    assert answer.status_code == 302
    assert sandbox_state.load("mpesa:c2b:urls:174379")["validation"].endswith("/validation/")
    assert sandbox_state.load("mpesa:pull:174379").endswith("/pull/")
