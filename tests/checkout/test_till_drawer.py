"""The drawer's money at the till, over the REST API the page uses: cash in / cash out with their line in the
X/Z report, a cash refund from the drawer for a sale paid by M-Pesa, refunds waiting for approval approved
at the till with a manager's PIN, and check_books over all of it."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from pos.accounts.models import Role
from pos.accounts.pins import set_pin
from pos.core.books import check_books
from pos.payments.models import Payment, Refund
from pos.payments.services import refundable_amount, request_refund
from pos.reports.queries import payments_by_method
from pos.sales.models import Authorisation, CashMovement, Sale, SaleReturn
from pos.sales.services import close_shift, get_open_shift, settle_sale, shift_report
from tests.checkout.helpers import SALES, cart, checkout, post
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CASH = "/api/sales/cash-movements/"
RETURNS = "/api/sales/returns/"


@pytest.fixture
def pin(manager):
    manager.set_password("pass12345")
    manager.save()
    set_pin(manager, password="pass12345", pin="4826")
    return {"username": manager.username, "pin": "4826"}


def second_manager():
    other = UserFactory(role=Role.MANAGER, username="manager2")
    other.set_password("pass12345")
    other.save()
    set_pin(other, password="pass12345", pin="7391")
    return other


def paid_by_mpesa(client, shop, quantity="2", receipt="QKM1"):
    """A sale of `quantity` sugar paid by a completed M-Pesa payment (as the provider would confirm it)."""
    made = checkout(client, cart((shop["sugar"], quantity, "0")), key=f"k-{receipt}").json()
    sale = Sale.objects.get(pk=made["id"])
    Payment.objects.create(sale=sale, method="mpesa", amount=sale.total, status="completed", receipt=receipt,
                           phone_number="254708374149", completed_at=timezone.now())
    return settle_sale(sale)


# --- cash in / cash out ------------------------------------------------------------------------------------

def test_cash_in_and_out_are_in_the_expected_cash_of_the_x_and_z_reports(till, cashier, shop):
    made = checkout(till, cart((shop["sugar"], "2", "0"), payments=[{"method": "cash", "amount_tendered": "500"}]),
                    key="k1").json()
    assert made["status"] == "paid" and made["change_due"] == "140.00"
    answer = post(till, CASH, {"kind": "in", "amount": "500", "reason": "Coins from the bank"})
    assert answer.status_code == 201, answer.json()
    assert (answer.json()["kind"], answer.json()["amount"], answer.json()["created_by_name"]) == ("in", "500.00",
                                                                                                  "cashier")
    assert post(till, CASH, {"kind": "out", "amount": "320.50", "reason": "Paid the milk supplier"}).status_code == 201

    x = till.get(f"/api/sales/shifts/{get_open_shift(cashier).pk}/report/").json()
    # float 1000 + cash sales 360 (500 handed over - 140 change) + in 500 - out 320.50
    assert (x["cash_in"], x["cash_out"], x["expected_cash"]) == ("500.00", "320.50", "1539.50")
    cash = next(m for m in x["methods"] if m["method"] == "cash")
    assert (cash["tendered"], cash["change"], cash["cash_in"], cash["cash_out"]) == ("500.00", "140.00", "500.00",
                                                                                       "320.50")
    text = till.get(f"/api/sales/shifts/{get_open_shift(cashier).pk}/report/?format=text").content.decode()
    assert "Cash in (paid in)" in text and "-320.50" in text and "1,539.50" in text

    shift = get_open_shift(cashier)
    z = post(till, f"/api/sales/shifts/{shift.pk}/close/", {"counted_cash": "1539.50"}).json()
    assert (z["kind"], z["expected_cash"], z["cash_variance"], z["cash_in"], z["cash_out"]) == (
        "Z", "1539.50", "0.00", "500.00", "320.50")
    shift.refresh_from_db()
    assert shift.expected_cash == D("1539.50")
    answer = post(till, CASH, {"kind": "in", "amount": "10", "reason": "late", "shift": shift.pk})
    assert answer.status_code == 400 and answer.json()["code"] == "shift_closed"
    assert check_books() == []


@pytest.mark.parametrize("body, field", [
    ({"kind": "in", "amount": "0", "reason": "x"}, "amount"),
    ({"kind": "out", "amount": "-5", "reason": "x"}, "amount"),
    ({"kind": "in", "amount": "10", "reason": "  "}, "reason"),
    ({"kind": "sideways", "amount": "10", "reason": "x"}, "kind"),
])
def test_bad_cash_in_or_out_is_a_400_with_the_field_and_writes_nothing(till, body, field):
    answer = post(till, CASH, body)
    assert answer.status_code == 400 and field in str(answer.json()), answer.json()
    assert not CashMovement.objects.exists()


def test_a_cash_out_above_the_limit_needs_a_managers_pin_recorded_as_an_authorisation(till, cashier, manager, pin,
                                                                                      settings):
    settings.CASH_OUT_AUTHORISATION_LIMIT = D("2000")
    assert post(till, CASH, {"kind": "out", "amount": "2000", "reason": "Banking drop"}).status_code == 201
    refused = post(till, CASH, {"kind": "out", "amount": "2000.01", "reason": "Banking drop"})
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    wrong = post(till, CASH, {"kind": "out", "amount": "2500", "reason": "Banking drop",
                              "manager": {**pin, "pin": "0000"}})
    assert wrong.status_code == 400 and wrong.json()["code"] == "bad_pin"
    allowed = post(till, CASH, {"kind": "out", "amount": "2500", "reason": "Banking drop", "manager": pin})
    assert allowed.status_code == 201 and allowed.json()["authorised_by_name"] == "manager"
    movement = CashMovement.objects.get(pk=allowed.json()["id"])
    authorisation = Authorisation.objects.get(cash_movement=movement)
    assert (authorisation.action, authorisation.authorised_by, authorisation.requested_by) == (
        "cash_out", manager, cashier)
    assert [m.amount for m in CashMovement.objects.order_by("pk")] == [D("2000.00"), D("2500.00")]
    assert shift_report(get_open_shift(cashier)).cash.expected == D("1000.00") - D("4500.00")
    assert check_books() == []


def test_a_manager_takes_a_large_cash_out_of_their_own_drawer_and_the_admin_lists_it(manager, open_shift_for):
    open_shift_for(manager)
    client = client_for(manager)
    assert post(client, CASH, {"kind": "out", "amount": "9000", "reason": "Banking drop"}).status_code == 201
    page = client.get("/admin/sales/cashmovement/")
    assert page.status_code == 200 and "Banking drop" in page.content.decode()
    assert "Banking drop" in client.get(f"/admin/sales/shift/{get_open_shift(manager).pk}/change/").content.decode()


def test_a_cashier_sees_only_their_own_cash_movements(till, other_cashier, open_shift_for):
    assert post(till, CASH, {"kind": "in", "amount": "50", "reason": "mine"}).status_code == 201
    other = client_for(other_cashier)
    open_shift_for(other_cashier)
    assert other.get(CASH).json()["count"] == 0
    mine = CashMovement.objects.get()
    assert other.get(f"{CASH}{mine.pk}/").status_code == 404
    answer = post(other, CASH, {"kind": "in", "amount": "5", "reason": "x", "shift": mine.shift_id})
    assert answer.status_code == 404


def test_check_books_finds_cash_moved_after_the_close_and_a_large_cash_out_without_a_manager(till, cashier):
    post(till, CASH, {"kind": "out", "amount": "100", "reason": "fine"})
    shift = close_shift(get_open_shift(cashier), "900", cashier).shift
    assert check_books() == []
    CashMovement.objects.update(amount=D("5000"))
    assert any("cash out" in p and "manager" in p for p in check_books()), check_books()
    CashMovement.objects.update(amount=D("100"), created_at=shift.closed_at + timezone.timedelta(minutes=1))
    assert any("was recorded after the shift" in p for p in check_books()), check_books()


# --- a cash refund from the drawer for a sale paid by M-Pesa -----------------------------------------------

def test_a_return_of_an_mpesa_sale_is_refunded_in_cash_from_the_drawer_and_counted_in_the_z(till, cashier, manager,
                                                                                          shop, pin):
    sale = paid_by_mpesa(till, shop, "3")  # 540.00 by M-Pesa
    item = sale.items.get()
    answer = post(till, f"{SALES}{sale.pk}/return/", {"items": [{"item": item.pk, "quantity": "2"}],
                                                      "reason": "wrong sugar", "refund": "cash", "manager": pin})
    assert answer.status_code == 201, answer.json()
    assert answer.json()["refund_error"] is None and answer.json()["owed"] == "0.00"
    assert [(r["method"], r["amount"], r["status"]) for r in answer.json()["refunds"]] == [
        ("cash", "360.00", "completed")]
    refund = Refund.objects.get()
    shift = get_open_shift(cashier)
    assert (refund.payment.method, refund.drawer_shift, refund.amount) == ("mpesa", shift, D("360.00"))
    assert refundable_amount(refund.payment) == D("180.00")  # the M-Pesa payment cannot give it back twice

    report = shift_report(shift)
    assert report.cash.refunds == D("360.00") and report.cash.expected == D("640.00")  # 1000 float - 360
    mpesa = next(m for m in report.methods if m.method == "mpesa")
    assert (mpesa.payments, mpesa.refunds, mpesa.expected) == (D("540.00"), D("0.00"), D("540.00"))
    # The day's sales report agrees: the money went back in cash, not by M-Pesa.
    day = payments_by_method(timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1))
    assert {(m["method"], m["amount"], m["refunds"]) for m in day} == {("mpesa", D("540.00"), D("0.00")),
                                                                      ("cash", D("0.00"), D("360.00"))}

    # the last unit: the M-Pesa reversal can only give back what is left on the payment
    last = post(till, f"{SALES}{sale.pk}/return/", {"items": [{"item": item.pk, "quantity": "1"}],
                                                    "reason": "wrong sugar", "refund": "owe", "manager": pin}).json()
    sale_return = SaleReturn.objects.get(pk=last["id"])
    with pytest.raises(Exception, match="At most 180.00"):
        request_refund(refund.payment, D("181"), "too much", manager, sale_return=sale_return, drawer_shift=shift)
    z = close_shift(shift, "640.00", cashier)
    assert (z.cash.expected, z.cash.difference) == (D("640.00"), D("0.00"))
    assert check_books() == []


def test_cash_from_the_drawer_for_an_mpesa_sale_needs_an_open_shift_at_the_till(manager, cashier, shop,
                                                                             open_shift_for):
    open_shift_for(cashier)
    sale = paid_by_mpesa(client_for(cashier), shop, "1")
    close_shift(get_open_shift(cashier), "1000", cashier)
    back_office = client_for(manager)  # no shift open: no drawer to pay from
    answer = post(back_office, f"{SALES}{sale.pk}/return/", {"items": [{"item": sale.items.get().pk, "quantity": "1"}],
                                                             "refund": "cash"}).json()
    assert answer["refund_error"]["code"] == "no_open_shift" and answer["owed"] == "180.00"
    assert not Refund.objects.exists()
    assert check_books() == []


# --- refunds waiting for approval, approved at the till ----------------------------------------------------

def test_a_refund_waiting_for_approval_is_listed_at_the_till_and_approved_there_with_a_pin(till, cashier, manager,
                                                                                         shop, pin, settings):
    settings.REFUND_APPROVAL_THRESHOLD = D("100")
    sale = paid_by_mpesa(till, shop, "2")
    sale_return = post(till, f"{SALES}{sale.pk}/return/", {"items": [{"item": sale.items.get().pk, "quantity": "1"}],
                                                           "refund": "owe", "manager": pin}).json()
    # a manager asked for it in the back office; above the threshold it waits for another manager
    refund, _ = request_refund(Payment.objects.get(), D("180.00"), "wrong sugar", manager,
                               sale_return=SaleReturn.objects.get(pk=sale_return["id"]),
                               drawer_shift=get_open_shift(cashier))
    assert refund.status == "pending_approval"
    waiting = till.get(f"{RETURNS}waiting/").json()
    assert [(w["id"], w["receipt_number"], w["amount"], w["requested_by_name"]) for w in waiting["results"]] == [
        (refund.pk, sale.receipt_number, "180.00", "manager")]

    # the manager who asked cannot approve it (four eyes); another manager's PIN can
    same = post(till, f"{RETURNS}{sale_return['id']}/approve/", {"manager": pin})
    assert same.status_code == 400 and same.json()["code"] == "four_eyes"
    other = second_manager()
    answer = post(till, f"{RETURNS}{sale_return['id']}/approve/", {"manager": {"username": "manager2", "pin": "7391"}})
    assert answer.status_code == 200, answer.json()
    refund.refresh_from_db()
    assert (refund.status, refund.approved_by, refund.drawer_shift) == ("completed", other, get_open_shift(cashier))
    assert till.get(f"{RETURNS}waiting/").json()["results"] == []
    assert Authorisation.objects.filter(action="refund", authorised_by=other, requested_by=cashier).count() == 1


def test_an_approved_cash_refund_is_paid_from_the_approving_tills_drawer(till, cashier, manager, shop, pin, settings):
    settings.REFUND_APPROVAL_THRESHOLD = D("100")
    made = checkout(till, cart((shop["sugar"], "2", "0"), payments=[{"method": "cash", "amount_tendered": "360"}]),
                    key="k-cash").json()
    sale = Sale.objects.get(pk=made["id"])
    returned = post(till, f"{SALES}{sale.pk}/return/", {"items": [{"item": sale.items.get().pk, "quantity": "2"}],
                                                        "refund": "owe", "manager": pin}).json()
    refund, _ = request_refund(Payment.objects.get(), D("360.00"), "back", manager,
                               sale_return=SaleReturn.objects.get(pk=returned["id"]))
    assert refund.status == "pending_approval"
    second_manager()
    answer = post(till, f"{RETURNS}{returned['id']}/approve/", {"manager": {"username": "manager2", "pin": "7391"}})
    assert answer.status_code == 200, answer.json()
    refund.refresh_from_db()
    shift = get_open_shift(cashier)
    assert (refund.status, refund.drawer_shift) == ("completed", shift)
    assert shift_report(shift).cash.expected == D("1000.00")  # float + 360 sold - 360 paid back
    assert check_books() == []


def test_check_books_recomputes_a_closed_shifts_expected_cash_with_its_cash_in_and_out(till, cashier, shop):
    checkout(till, cart((shop["sugar"], "2", "0"), payments=[{"method": "cash", "amount_tendered": "500"}]), key="k")
    post(till, CASH, {"kind": "in", "amount": "250", "reason": "coins"})
    post(till, CASH, {"kind": "out", "amount": "99.50", "reason": "cleaner"})
    shift = close_shift(get_open_shift(cashier), "1510.50", cashier).shift
    assert shift.expected_cash == D("1510.50") and check_books() == []  # 1000 + 360 + 250 - 99.50
    CashMovement.objects.filter(kind="in").update(amount=D("260"))  # a cash in changed after the Z
    assert check_books() == [f"cash: shift #{shift.pk} closed expecting 1510.50 in the drawer but its cash adds up "
                             "to 1520.50"]
