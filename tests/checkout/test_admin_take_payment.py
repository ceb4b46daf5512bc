"""A manager takes the balance of a partly paid sale from its admin page: cash with what was handed over, or
an M-Pesa push, through the same payment service as the till's API (tests/checkout: the till's money)."""

from decimal import Decimal as D

import pytest

from pos.core.books import check_books
from pos.payments.models import Payment
from pos.sales.models import Sale
from tests.checkout.helpers import cart, checkout
from tests.conftest import client_for
from tests.payments.flows import wait_for

ADMIN = "/admin/sales/sale/"


@pytest.fixture
def partly_paid(till, shop):
    """2 sugar (360.00), 100.00 paid in cash at the till: 260.00 still due."""
    made = checkout(till, cart((shop["sugar"], "2", "0"), payments=[{"method": "cash", "amount": "100",
                                                                      "amount_tendered": "100"}]), key="k1").json()
    assert (made["status"], made["balance_due"]) == ("pending_payment", "260.00")
    return Sale.objects.get(pk=made["id"])


@pytest.mark.django_db
def test_the_sale_page_offers_take_payment_only_while_money_is_due(manager, partly_paid):
    client = client_for(manager)
    html = client.get(f"{ADMIN}{partly_paid.pk}/change/").content.decode()
    assert "Take payment" in html
    confirm = client.get(f"{ADMIN}{partly_paid.pk}/take-payment/")  # a GET only asks: nothing is taken
    assert confirm.status_code == 200 and "260.00" in confirm.content.decode()
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_manager_takes_the_cash_balance_with_change_once_even_if_the_form_is_sent_twice(manager, partly_paid):
    client = client_for(manager)
    form = {"method": "cash", "amount": "", "amount_tendered": "300", "key": "form-1"}
    answer = client.post(f"{ADMIN}{partly_paid.pk}/take-payment/", form, follow=True)
    assert "give 40.00 change" in " ".join(str(m) for m in answer.context["messages"])
    client.post(f"{ADMIN}{partly_paid.pk}/take-payment/", form)  # a double submit: the same key
    partly_paid.refresh_from_db()
    assert (partly_paid.status, partly_paid.paid_amount, partly_paid.change_due) == ("paid", D("360.00"), D("40.00"))
    cash = Payment.objects.filter(method="cash").order_by("pk")
    assert [(p.amount, p.amount_tendered, p.change_given, p.created_by) for p in cash][1:] == [
        (D("260.00"), D("300.00"), D("40.00"), manager)]
    assert "Take payment" not in client.get(f"{ADMIN}{partly_paid.pk}/change/").content.decode()
    assert check_books() == []


@pytest.mark.django_db
def test_too_little_cash_or_a_bad_amount_is_an_error_on_the_page_and_takes_nothing(manager, partly_paid):
    client = client_for(manager)
    answer = client.post(f"{ADMIN}{partly_paid.pk}/take-payment/", {"method": "cash", "amount": "300",
                                                                    "amount_tendered": "300", "key": "k"})
    assert answer.status_code == 200 and "260.00 is still due" in answer.content.decode()
    answer = client.post(f"{ADMIN}{partly_paid.pk}/take-payment/", {"method": "cash", "amount_tendered": "abc"})
    assert answer.status_code == 200 and "Enter an amount" in answer.content.decode()
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_bookkeeper_and_another_cashier_cannot_take_payment_there(bookkeeper, other_cashier, partly_paid):
    assert client_for(bookkeeper).post(f"{ADMIN}{partly_paid.pk}/take-payment/",
                                       {"method": "cash", "amount_tendered": "300"}).status_code == 403
    assert client_for(other_cashier).post(f"{ADMIN}{partly_paid.pk}/take-payment/",
                                          {"method": "cash", "amount_tendered": "300"}).status_code == 404
    assert Payment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_manager_sends_an_mpesa_push_for_the_balance_from_the_sale_page(sandbox, manager, partly_paid):
    client = client_for(manager)
    answer = client.post(f"{ADMIN}{partly_paid.pk}/take-payment/",
                         {"method": "mpesa", "phone_number": "0708374149", "key": "push-1"}, follow=True)
    assert "M-Pesa request of 260.00 sent" in " ".join(str(m) for m in answer.context["messages"])
    push = Payment.objects.get(method="mpesa")
    assert (push.amount, push.phone_number[-9:]) == (D("260.00"), "708374149")
    wait_for(lambda: Sale.objects.get(pk=partly_paid.pk).status == "paid")
    assert Payment.objects.get(pk=push.pk).status == "completed"
