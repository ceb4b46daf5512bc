"""Reconciliation with Pull Transactions, against the Daraja simulator over real HTTP."""

import time
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command

from pos.c2b import services
from pos.c2b.models import C2BNotification, ReceivedPayment
from pos.c2b.sandbox import PROCESSED
from pos.core.books import check_books
from pos.payments.gateways.base import get_gateway
from pos.payments.models import Payment
from pos.payments.sandbox import state as sandbox_state
from pos.payments.services import initiate_payment
from tests.c2b.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def phone_pays(daraja, amount, msisdn="254708374149", command="CustomerBuyGoodsOnline", bill_ref=""):
    """The customer pays the shortcode from their phone (Daraja's C2B simulate API); returns the TransID once
    the simulated M-Pesa has processed it."""
    token = get_gateway("mpesa").token(None)
    answer = requests.post(f"{daraja.url}/sandbox/mpesa/mpesa/c2b/v1/simulate", timeout=10,
                           headers={"Authorization": f"Bearer {token}"},
                           json={"ShortCode": "174379", "CommandID": command, "Amount": amount, "Msisdn": msisdn,
                                 "BillRefNumber": bill_ref}).json()
    assert answer["ResponseCode"] == "0", answer
    wait_for(lambda: any(r["transactionId"] == answer["TransID"] for r in sandbox_state.load(PROCESSED, [])))
    return answer["TransID"]


def test_simulated_phone_payment_reaches_the_shop_validation_first_then_confirmation(daraja, sell):
    sale = sell("230.00")
    trans_id = phone_pays(daraja, 230, msisdn="254711223344")
    wait_for(lambda: ReceivedPayment.objects.filter(trans_id=trans_id, state="matched").exists())
    kinds = list(C2BNotification.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["validation", "confirmation"]
    receipt = ReceivedPayment.objects.get(trans_id=trans_id)
    assert len(receipt.msisdn) == 64 and receipt.msisdn != "254711223344"  # SHA-256, as Daraja sends now
    sale.refresh_from_db()
    assert sale.status == "paid"


def test_payment_whose_confirmation_never_arrived_is_found_and_flagged(daraja, sell, manager):
    sale = sell("640.00")
    trans_id = phone_pays(daraja, 640, msisdn="254700000404")  # M-Pesa takes it, the shop is never told
    assert not ReceivedPayment.objects.filter(trans_id=trans_id).exists()
    run = services.reconcile(hours=2)
    assert (run.error, run.listed, run.new_receipts, run.flagged) == ("", 1, 1, 1)
    receipt = ReceivedPayment.objects.get(trans_id=trans_id)
    assert (receipt.source, receipt.state, receipt.flagged, receipt.amount) == ("pull", "unmatched", True,
                                                                              Decimal("640.00"))
    assert "never reached the shop" in receipt.flag_reason and receipt.seen_at_safaricom is not None
    problems = [p for p in check_books() if p.startswith("c2b")]
    assert len(problems) == 1 and trans_id in problems[0]
    # Running it again changes nothing.
    again = services.reconcile(hours=2)
    assert (again.listed, again.new_receipts) == (1, 0) and ReceivedPayment.objects.count() == 1
    # The manager matches it to the sale still waiting: the books are right again.
    services.match_receipt(receipt, sale, user=manager, rule="manager")
    sale.refresh_from_db()
    assert sale.status == "paid"
    assert [p for p in check_books() if p.startswith("c2b")] == []


def test_pulled_pages_are_followed_with_offset(daraja, settings):
    settings.SANDBOX_PULL_PAGE_SIZE = 2
    codes = {phone_pays(daraja, 10 + n, msisdn="254700000404") for n in range(3)}
    run = services.reconcile(hours=1)
    assert (run.pages, run.listed, run.new_receipts) == (3, 3, 3)
    assert set(ReceivedPayment.objects.values_list("trans_id", flat=True)) == codes


def test_stuck_stk_payment_gets_its_receipt_from_the_pull(daraja, sell, cashier):
    sale = sell("150.00")
    # 254700000408: the customer pays, but no callback ever comes and STK Query says "being processed".
    payment, _ = initiate_payment(sale, "mpesa", Decimal("150.00"), phone_number="0700000408", user=cashier)
    assert payment.status == "processing" and not payment.receipt
    wait_for(lambda: sandbox_state.load(PROCESSED, []))
    time.sleep(0.2)  # the simulated customer acts after the callback delay
    run = services.reconcile(hours=1)
    assert run.stk_completed == 1 and run.flagged == 0
    payment.refresh_from_db()
    sale.refresh_from_db()
    assert payment.status == "completed" and payment.receipt
    assert sale.status == "paid"
    receipt = ReceivedPayment.objects.get(trans_id=payment.receipt)
    assert (receipt.state, receipt.payment_id, receipt.match_rule) == ("matched", payment.pk, "reconciled")
    assert [p for p in check_books() if p.startswith(("c2b", "payment"))] == []


def test_ambiguous_stk_candidates_are_flagged_not_guessed(daraja, sell):
    trans_id = phone_pays(daraja, 95, msisdn="254700000404")
    stuck = [Payment.objects.create(sale=sell("95.00"), method="mpesa", amount=Decimal("95.00"), status="processing",
                                    phone_number="254700000404", provider_reference=f"ws_CO_AMB{n}")
             for n in range(2)]
    run = services.reconcile(hours=1)
    assert (run.stk_completed, run.flagged) == (0, 1)
    for payment in stuck:
        payment.refresh_from_db()
        assert payment.status == "processing" and payment.receipt == ""
    receipt = ReceivedPayment.objects.get(trans_id=trans_id)
    assert receipt.flagged and f"#{stuck[0].pk}" in receipt.flag_reason and f"#{stuck[1].pk}" in receipt.flag_reason


def test_register_command_registers_with_the_simulator(daraja, capsys):
    call_command("register_c2b")
    out = capsys.readouterr().out
    assert "C2B URLs registered for 174379" in out and "Pull Transactions registered" in out
    assert "<C2B_URL_TOKEN>" in out and "test-c2b-token" not in out
    urls = sandbox_state.load("mpesa:c2b:urls:174379")
    assert urls["confirmation"].endswith("/confirmation/") and urls["response_type"] == "Completed"


def test_reconcile_command_reports_what_it_found(daraja, capsys):
    phone_pays(daraja, 44, msisdn="254700000404")
    call_command("reconcile_mpesa", "--hours", "1")
    assert "1 receipt(s) the shop never recorded" in capsys.readouterr().out


def test_schedules_are_created_once(db):
    from django_q.models import Schedule

    from pos.core.schedules import ensure_schedules

    ensure_schedules()
    ensure_schedules()
    names = list(Schedule.objects.filter(func__startswith="pos.c2b.").values_list("name", flat=True))
    assert len(names) == 3 and len(set(names)) == 3  # two reconciliations and the purge of old notices


def test_stuck_stk_payment_from_another_phone_is_not_given_the_receipt(daraja, sell):
    trans_id = phone_pays(daraja, 120, msisdn="254700000404")
    stuck = Payment.objects.create(sale=sell("120.00"), method="mpesa", amount=Decimal("120.00"), status="processing",
                                   phone_number="254711000111", provider_reference="ws_CO_OTHER1")
    run = services.reconcile(hours=1)
    assert (run.stk_completed, run.flagged) == (0, 1)
    stuck.refresh_from_db()
    assert stuck.status == "processing" and stuck.receipt == ""
    assert "never reached the shop" in ReceivedPayment.objects.get(trans_id=trans_id).flag_reason


def test_a_typed_code_whose_confirmation_was_lost_is_found_by_asking_mpesa(daraja, sell, cashier):
    from django.core.cache import cache

    from pos.c2b.services import match_by_code
    from pos.core.errors import ServiceError

    cache.delete("c2b:reconcile-requested")
    sale = sell("210.00")
    code = phone_pays(daraja, 210, msisdn="254700000404")  # the customer shows the SMS; the shop heard nothing
    with pytest.raises(ServiceError) as first:
        match_by_code(sale, code, user=cashier)
    # Tasks run inline in the tests: the reconciliation of the last hour has already stored the receipt.
    assert "asking M-Pesa now" in first.value.message
    assert ReceivedPayment.objects.get(trans_id=code).flagged
    match_by_code(sale, code, user=cashier)  # a minute later the same code works
    sale.refresh_from_db()
    assert sale.status == "paid"


@pytest.mark.qcluster
def test_a_real_qcluster_runs_the_reconciliation_task(daraja, sell):
    from django_q.tasks import async_task

    from pos.c2b.models import ReconciliationRun
    from tests.c2b.conftest import TOKEN
    from tests.qcluster import running_qcluster, wait_until

    trans_id = phone_pays(daraja, 333, msisdn="254700000404")
    env = {"SANDBOX_BASE_URL": daraja.url + "/sandbox", "PUBLIC_BASE_URL": daraja.url, "C2B_URL_TOKEN": TOKEN,
           "C2B_SHORTCODE": "174379", "MPESA_CONSUMER_KEY": "", "MPESA_CONSUMER_SECRET": ""}
    with running_qcluster(env):
        async_task("pos.c2b.tasks.reconcile_recent", sync=False)
        run = wait_until(lambda: ReconciliationRun.objects.filter(finished_at__isnull=False).first(), timeout=60)
    assert run, "the qcluster did not run the reconciliation"
    assert (run.error, run.new_receipts) == ("", 1)
    assert ReceivedPayment.objects.get(trans_id=trans_id).flagged
