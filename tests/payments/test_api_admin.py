"""The payments back office: read-only records, "verify now", refund approval, the callback log."""

from decimal import Decimal

import pytest

from pos.payments.models import PaymentCallback
from pos.payments.services import handle_callback, pay_cash, request_refund
from tests.conftest import client_for
from tests.payments.flows import fresh, make_sale


@pytest.mark.django_db
def test_manager_sees_payments_with_events_and_cannot_edit_them(cashier, manager):
    payment = pay_cash(make_sale(cashier, "100.00"), amount_tendered=Decimal(100), user=cashier)
    client = client_for(manager)
    listing = client.get("/admin/payments/payment/?status__exact=completed&method__exact=cash")
    assert listing.status_code == 200 and payment.sale.receipt_number in listing.content.decode()
    page = client.get(f"/admin/payments/payment/{payment.pk}/change/")
    assert page.status_code == 200 and "Verify now" in page.content.decode()
    assert client.get("/admin/payments/payment/add/").status_code == 403
    answer = client.post("/admin/payments/payment/", {"action": "verify_now", "_selected_action": [payment.pk]},
                         follow=True)
    # The provider is asked by the task worker (here run inline), never on the manager's request.
    assert f"Asked the provider about payment #{payment.pk}: its answer is applied by the task worker" in \
        answer.content.decode()


@pytest.mark.django_db
def test_callback_log_is_read_only(manager, bookkeeper):
    handle_callback("card", b"not json", {"Content-Type": "text/plain"}, "127.0.0.1")
    callback = PaymentCallback.objects.get()
    for user in (manager, bookkeeper):
        client = client_for(user)
        listing = client.get("/admin/payments/paymentcallback/")
        assert listing.status_code == 200 and "Malformed" in listing.content.decode()
        assert client.get("/admin/payments/paymentcallback/add/").status_code == 403
        assert client.post(f"/admin/payments/paymentcallback/{callback.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_manager_approves_refunds_from_the_admin_bookkeeper_cannot(cashier, manager, bookkeeper, admin_user,
                                                                   settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal(10)
    payment = pay_cash(make_sale(cashier, "100.00"), amount_tendered=Decimal(100), user=cashier)
    refund, _ = request_refund(payment, "40", "damaged", admin_user)
    denied = client_for(bookkeeper).post("/admin/payments/refund/", {"action": "approve", "_selected_action": [refund.pk]})
    assert denied.status_code in (200, 302) and fresh(refund).status == "pending_approval"
    client_for(manager).post("/admin/payments/refund/", {"action": "approve", "_selected_action": [refund.pk]})
    refund = fresh(refund)
    assert refund.status == "completed" and refund.approved_by == manager


@pytest.mark.django_db
def test_a_cashier_sees_only_payments_of_their_own_sales_in_the_back_office(cashier, other_cashier):
    mine = pay_cash(make_sale(cashier, "100.00"), amount_tendered=Decimal(100), user=cashier)
    theirs = pay_cash(make_sale(other_cashier, "200.00"), amount_tendered=Decimal(200), user=other_cashier)
    client = client_for(cashier)
    listing = client.get("/admin/payments/payment/").content.decode()
    assert mine.sale.receipt_number in listing and theirs.sale.receipt_number not in listing
    assert client.get(f"/admin/payments/payment/{theirs.pk}/change/").status_code in (302, 404)
