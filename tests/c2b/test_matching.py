"""Matching received M-Pesa money at the till: automatic only when provable, else by SMS code or picked."""

from decimal import Decimal

import pytest

from pos.c2b import services
from pos.c2b.models import MatchRule, ReceiptState, ReceivedPayment
from pos.core.errors import ServiceError
from pos.payments.models import Payment
from pos.payments.services import pay_cash
from tests.c2b.conftest import c2b_body
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


def _mpesa(sale):
    return list(Payment.objects.filter(sale=sale, method="mpesa"))


def test_paybill_account_number_equal_to_the_sale_reference_settles_it(post_c2b, sell):
    sale = sell("740.00")
    other = sell("740.00")  # same amount, but the account number names the first sale
    post_c2b("confirmation", c2b_body("SKREF00001", "740.00", bill_ref=f"s-{sale.receipt_number[-6:]}",
                                      kind="Pay Bill"))
    sale.refresh_from_db()
    other.refresh_from_db()
    assert sale.status == "paid" and other.status == "pending_payment"
    [payment] = _mpesa(sale)
    assert (payment.status, payment.receipt, payment.amount) == ("completed", "SKREF00001", Decimal("740.00"))
    receipt = ReceivedPayment.objects.get()
    assert (receipt.state, receipt.match_rule, receipt.payment_id) == ("matched", "reference", payment.pk)
    assert receipt.shift_id == sale.shift_id


def test_the_only_waiting_sale_of_an_amount_is_settled_by_a_till_payment(post_c2b, sell):
    sale = sell("355.00")
    sell("120.00")
    post_c2b("confirmation", c2b_body("SKAMT00001", "355.00"))
    sale.refresh_from_db()
    assert sale.status == "paid"
    assert ReceivedPayment.objects.get().match_rule == MatchRule.AMOUNT


def test_two_waiting_sales_of_the_same_amount_are_never_matched_automatically(post_c2b, sell):
    first, second = sell("250.00"), sell("250.00")
    post_c2b("confirmation", c2b_body("SKTWIN0001", "250.00"))
    for sale in (first, second):
        view = services.look_for_payment(sale)  # the till's poll tries again: still not provable
        assert view["matched"] == []
        assert [row["trans_id"] for row in view["incoming"]] == ["SKTWIN0001"]
        sale.refresh_from_db()
        assert sale.status == "pending_payment" and not _mpesa(sale)
    assert ReceivedPayment.objects.get().state == ReceiptState.UNMATCHED


def test_two_unmatched_receipts_of_the_sale_amount_are_not_matched_automatically(post_c2b, sell):
    post_c2b("confirmation", c2b_body("SKPAIR0001", "180.00"))
    post_c2b("confirmation", c2b_body("SKPAIR0002", "180.00"))
    sale = sell("180.00")  # money first, sale after: the poll finds two candidates and matches neither
    services.look_for_payment(sale)
    sale.refresh_from_db()
    assert sale.status == "pending_payment"


def test_money_that_arrived_before_the_sale_is_matched_when_the_till_polls(post_c2b, sell):
    post_c2b("confirmation", c2b_body("SKEARLY001", "415.00"))
    sale = sell("415.00")
    view = services.look_for_payment(sale)
    assert [(m["trans_id"], m["rule"], m["just_now"]) for m in view["matched"]] == [("SKEARLY001", "amount", True)]
    assert view["sale"]["status"] == "paid" and view["incoming"] == []


def test_reading_the_till_panel_never_matches_only_the_poll_does(post_c2b, sell, cashier):
    """GET /api/c2b/till/<sale>/ only reads (a prefetch, a crawler or a retry must not move money); the till's
    poll is a POST to the same URL and makes the match the money provably is."""
    post_c2b("confirmation", c2b_body("SKGET00001", "415.00"))
    sale = sell("415.00")
    client = api_client_for(cashier)
    url = f"/api/c2b/till/{sale.pk}/"
    for _ in range(2):
        view = client.get(url).json()
        assert view["matched"] == [] and [r["trans_id"] for r in view["incoming"]] == ["SKGET00001"]
    sale.refresh_from_db()
    assert sale.status == "pending_payment" and not _mpesa(sale)
    assert ReceivedPayment.objects.get().state == ReceiptState.UNMATCHED
    view = client.post(url).json()
    assert [(m["trans_id"], m["applied"], m["just_now"]) for m in view["matched"]] == [("SKGET00001", "415.00", True)]
    sale.refresh_from_db()
    assert sale.status == "paid" and [p.amount for p in _mpesa(sale)] == [Decimal("415.00")]


def test_cashier_types_the_sms_code(post_c2b, sell, cashier):
    first, second = sell("99.00"), sell("99.00")
    post_c2b("confirmation", c2b_body("SKCODE0001", "99.00"))
    payment = services.match_by_code(second, " skcode0001 ", user=cashier)
    second.refresh_from_db()
    assert second.status == "paid" and payment.receipt == "SKCODE0001" and payment.created_by == cashier
    assert ReceivedPayment.objects.get().match_rule == MatchRule.CODE
    with pytest.raises(ServiceError) as used:
        services.match_by_code(first, "SKCODE0001", user=cashier)
    assert used.value.code == "already_matched" and second.receipt_number in used.value.message
    with pytest.raises(ServiceError) as unknown:
        services.match_by_code(first, "SKNOTHERE1", user=cashier)
    assert unknown.value.code == "receipt_not_received"
    first.refresh_from_db()
    assert first.status == "pending_payment" and not _mpesa(first)


def test_part_by_c2b_and_the_rest_in_cash(post_c2b, sell, cashier):
    sale = sell("600.00")
    post_c2b("confirmation", c2b_body("SKHALF0001", "300.00"))
    sale.refresh_from_db()
    assert sale.status == "pending_payment"  # 300 is not the amount due: not provable
    receipt = ReceivedPayment.objects.get()
    services.match_receipt(receipt, sale, user=cashier)
    sale.refresh_from_db()
    assert (sale.status, sale.paid_amount, sale.balance_due) == ("pending_payment", Decimal("300.00"),
                                                                 Decimal("300.00"))
    pay_cash(sale, amount_tendered=Decimal("500.00"), user=cashier)
    sale.refresh_from_db()
    assert (sale.status, sale.paid_amount, sale.change_due) == ("paid", Decimal("600.00"), Decimal("200.00"))


def test_more_money_than_due_is_applied_up_to_the_due_and_flagged(post_c2b, sell):
    sale = sell("450.00")
    post_c2b("confirmation", c2b_body("SKOVER0001", "500.00", bill_ref=services.sale_reference(sale), kind="Pay Bill"))
    [payment] = _mpesa(sale)
    assert (payment.amount, payment.amount_received, payment.attention) == (Decimal("450.00"), Decimal("500.00"),
                                                                            "overpaid")
    sale.refresh_from_db()
    assert sale.status == "paid" and sale.paid_amount == Decimal("450.00")


def test_manager_keeps_unmatched_money_as_a_deposit_cashier_may_not(post_c2b, manager, cashier):
    post_c2b("confirmation", c2b_body("SKDEP00001", "70.00"))
    receipt = ReceivedPayment.objects.get()
    with pytest.raises(ServiceError):
        services.record_deposit(receipt, user=cashier, note="x")
    services.record_deposit(receipt, user=manager, note="Wanjiku, for Saturday's order")
    receipt.refresh_from_db()
    assert (receipt.state, receipt.matched_by, receipt.note) == ("deposit", manager, "Wanjiku, for Saturday's order")
    assert ReceivedPayment.objects.count() == 1  # kept: the register is append-only


def test_shift_summary_counts_money_in_the_shift_it_arrived_in(post_c2b, sell, shift):
    sale = sell("100.00")
    post_c2b("confirmation", c2b_body("SKSHIFT001", "100.00"))
    post_c2b("confirmation", c2b_body("SKSHIFT002", "35.00"))
    sale.refresh_from_db()
    summary = services.shift_summary(shift)
    assert summary["matched"] == {"count": 1, "total": Decimal("100.00")}
    assert summary["unmatched"] == {"count": 1, "total": Decimal("35.00")}


def test_till_api_polls_and_matches_own_sales_only(post_c2b, sell, cashier, other_cashier):
    post_c2b("confirmation", c2b_body("SKAPI00001", "99.00"))
    post_c2b("confirmation", c2b_body("SKAPI00002", "99.00"))
    sale = sell("99.00")
    client = api_client_for(cashier)
    polled = client.get(f"/api/c2b/till/{sale.pk}/")
    assert polled.status_code == 200
    body = polled.json()
    assert body["pay_to"]["account"] == services.sale_reference(sale) and body["sale"]["due"] == "99.00"
    assert {row["trans_id"] for row in body["incoming"]} == {"SKAPI00001", "SKAPI00002"}
    picked = next(row for row in body["incoming"] if row["trans_id"] == "SKAPI00002")
    matched = client.post(f"/api/c2b/till/{sale.pk}/match/", {"receipt": picked["id"]}, format="json")
    assert matched.status_code == 200
    assert matched.json()["sale"]["status"] == "paid"
    assert [m["trans_id"] for m in matched.json()["matched"]] == ["SKAPI00002"]
    bad = client.post(f"/api/c2b/till/{sale.pk}/match/", {"code": "SKAPI00001"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "not_payable"
    # A code M-Pesa never reported: the cashier's message survives beside the machine-readable code.
    unknown = client.post(f"/api/c2b/till/{sale.pk}/match/", {"code": "SKAPI00009"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "receipt_not_received"
    assert unknown.json()["detail"][0].startswith("M-Pesa has not told the shop about SKAPI00009 yet.")
    typo = client.post(f"/api/c2b/till/{sale.pk}/match/", {"code": "SK-1"}, format="json").json()
    assert typo == {"detail": ["Type the M-Pesa code from the customer's SMS, e.g. SGH3K7Q2LM."], "code": "invalid_code"}
    assert api_client_for(other_cashier).get(f"/api/c2b/till/{sale.pk}/").status_code == 404


def test_manager_api_lists_unmatched_money_and_matches_it_later(post_c2b, sell, manager, bookkeeper):
    post_c2b("confirmation", c2b_body("SKLATE0001", "88.00", bill_ref="wrong", kind="Pay Bill"))
    first, second = sell("88.00"), sell("88.00")
    listed = api_client_for(bookkeeper).get("/api/c2b/received/?state=unmatched")
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert (row["trans_id"], row["amount"], row["payer"]) == ("SKLATE0001", "88.00", "WANJIKU KAMAU")
    assert api_client_for(bookkeeper).post(f"/api/c2b/received/{row['id']}/match/", {"sale": first.pk}).status_code \
        == 403
    done = api_client_for(manager).post(f"/api/c2b/received/{row['id']}/match/", {"sale": second.pk}, format="json")
    assert done.status_code == 200 and done.json()["sale"] == second.receipt_number
    second.refresh_from_db()
    assert second.status == "paid"


def test_till_poll_query_count_is_bounded(post_c2b, sell, django_assert_max_num_queries):
    for n in range(5):
        post_c2b("confirmation", c2b_body(f"SKQC0000{n}0", f"{n + 1}0.00"))
    sale = sell("999.00")
    with django_assert_max_num_queries(20):
        services.look_for_payment(sale)


def test_till_poll_queries_do_not_grow_with_the_money_listed(post_c2b, sell, django_assert_max_num_queries):
    sale = sell("999.00")
    for n in range(25):
        post_c2b("confirmation", c2b_body(f"SKQM{n:06d}", f"{n + 1}.00"))
    with django_assert_max_num_queries(5):
        view = services.look_for_payment(sale)
    assert len(view["incoming"]) == 20  # the newest 20


def test_money_found_hours_later_is_not_offered_as_arriving_now(post_c2b, sell):
    sale = sell("60.00")
    post_c2b("confirmation", c2b_body("SKOLD00001", "60.00", TransTime="20200101101010"))
    view = services.till_view(sale)
    assert view["incoming"] == [] and view["matched"] == []


def test_shift_summary_api(post_c2b, sell, shift, manager):
    sell("100.00")
    post_c2b("confirmation", c2b_body("SKSUMAPI01", "100.00"))
    post_c2b("confirmation", c2b_body("SKSUMAPI02", "42.50"))
    answer = api_client_for(manager).get(f"/api/c2b/received/shift-summary/?shift={shift.pk}")
    assert answer.status_code == 200
    assert answer.json() == {"unmatched": {"count": 1, "total": "42.50"}, "matched": {"count": 1, "total": "100.00"},
                             "deposit": {"count": 0, "total": "0.00"}}
    assert api_client_for(manager).get("/api/c2b/received/shift-summary/?shift=x").status_code == 400


def test_account_number_of_a_sale_waiting_longer_than_the_window_still_proves_it(post_c2b, sell):
    from datetime import timedelta

    from django.utils import timezone

    from pos.sales.models import Sale

    old = sell("510.00")
    Sale.objects.filter(pk=old.pk).update(confirmed_at=timezone.now() - timedelta(minutes=40))
    recent = sell("510.00")  # the only sale of 510 in the window: the amount rule alone would pick it
    post_c2b("confirmation", c2b_body("SKOLDREF01", "510.00", bill_ref=services.sale_reference(old), kind="Pay Bill"))
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == "paid" and recent.status == "pending_payment"


def test_cashier_picks_only_recent_money_manager_rule_needs_a_manager(post_c2b, sell, cashier, manager):
    post_c2b("confirmation", c2b_body("SKPICKOLD1", "77.00", TransTime="20200101101010"))
    receipt = ReceivedPayment.objects.get()
    sale = sell("77.00")
    with pytest.raises(ServiceError) as old:
        services.match_receipt(receipt, sale, user=cashier, rule=MatchRule.PICKED)
    assert old.value.code == "not_in_window"
    with pytest.raises(ServiceError) as not_manager:
        services.match_receipt(receipt, sale, user=cashier, rule=MatchRule.MANAGER)
    assert not_manager.value.code == "not_allowed"
    services.match_receipt(receipt, sale, user=manager, rule=MatchRule.MANAGER)
    sale.refresh_from_db()
    assert sale.status == "paid"


def test_a_swahili_cashier_is_told_about_a_code_and_a_phone_in_swahili(sell, cashier):
    """The till's M-Pesa refusals are in the cashier's language, as every other refusal of the API."""
    from pos.payments.models import Payment

    cashier.language = "sw"
    cashier.save()
    sale = sell("99.00")
    client = api_client_for(cashier)
    unknown = client.post(f"/api/c2b/till/{sale.pk}/match/", {"code": "SKAPI00009"}, format="json").json()
    assert unknown["code"] == "receipt_not_received"
    assert unknown["detail"][0].startswith("M-Pesa bado haijaliarifu duka kuhusu SKAPI00009.")
    typo = client.post(f"/api/c2b/till/{sale.pk}/match/", {"code": "SK-1"}, format="json").json()
    assert typo["detail"] == ["Andika msimbo wa M-Pesa kutoka SMS ya mteja, kwa mfano SGH3K7Q2LM."]
    phone = client.post("/api/payments/payments/initiate/", {"sale": sale.pk, "method": "mpesa", "amount": "99",
                                                     "phone_number": "12345"}, format="json").json()
    assert phone["phone_number"] == ["Weka nambari ya simu ya Kenya kama 0712 345 678 au +254712345678."]
    # A busy M-Pesa, written by the task worker in the shop's language, is read in the cashier's.
    Payment.objects.create(sale=sale, method="mpesa", amount="99.00", status="failed", result_code="provider_busy",
                           result_message="M-Pesa is still handling an earlier request for this phone. Ask the "
                                          "customer to wait up to 2 minutes, then try again.")
    payments = client.get(f"/api/sales/sales/{sale.pk}/").json()["payments"]
    assert [p["result_message"] for p in payments] == [
        "M-Pesa bado inashughulikia ombi la awali la simu hii. Mwombe mteja asubiri hadi dakika 2, kisha ujaribu tena."]
    waiting = Payment.objects.create(sale=sale, method="mpesa", amount="99.00", status="processing")
    assert client.get(f"/api/payments/payments/{waiting.pk}/").json()["till_message"] == \
        "Inasubiri mteja aidhinishe kwenye M-Pesa."
