"""The provider is asked by the task worker, never on the till's web request: a slow or hung provider
cannot hold the web workers every till shares. Each push or refund is sent at most once (claimed by
`sent_at` under the row lock), and one the worker never took is sent by the re-check, or failed when
the customer can no longer be waiting (it provably never reached the provider)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.conf import Conf

from pos.core.books import check_books
from pos.payments import services
from pos.payments.models import Payment, Refund
from tests.payments.flows import fresh, make_sale, sale_of
from tests.qcluster import running_qcluster, wait_until

APPROVES = "0708374149"


def pushes(faults):
    return [seen for seen in faults.seen if seen[1].endswith("/stkpush/v1/processrequest")]


@pytest.fixture
def no_worker(monkeypatch):
    """Tasks go to the broker (the database) instead of running inline, and no worker takes them:
    the shop's task worker is down."""
    monkeypatch.setattr(Conf, "SYNC", False)


@pytest.mark.qcluster
@pytest.mark.django_db(transaction=True)
def test_the_tills_request_returns_before_a_slow_provider_answers(faults, cashier, sandbox, no_worker):
    faults.add("stkpush", "slow:1.5")
    env = {"SANDBOX_BASE_URL": faults.url + "/sandbox", "PUBLIC_BASE_URL": sandbox.url,
           "PAYMENT_HTTP_TIMEOUT": "10"}
    sale = make_sale(cashier, "230.00")
    with running_qcluster(env):
        payment, created = services.initiate_payment(sale, "mpesa", "230", phone_number=APPROVES, user=cashier)
        # Had the request waited for M-Pesa it would hold its answer (processing, a CheckoutRequestID).
        assert created and payment.status == "pending" and not payment.provider_reference
        assert payment.is_in_flight and payment.amount == Decimal("230.00")
        done = wait_until(lambda: fresh(payment).status == "completed", timeout=60)
    assert done, "the worker did not send the push"
    payment = fresh(payment)
    assert payment.receipt and payment.provider_reference.startswith("ws_CO_") and payment.sent_at
    assert len(pushes(faults)) == 1
    assert sale_of(payment).status == "paid"
    assert check_books() == []


@pytest.mark.django_db(transaction=True)
def test_a_second_delivery_of_the_send_task_asks_mpesa_once(faults, cashier):
    payment, _ = services.initiate_payment(make_sale(cashier, "120.00"), "mpesa", "120", phone_number=APPROVES,
                                           user=cashier)
    assert payment.status == "processing" and payment.sent_at
    assert services.send_payment(payment.pk) is None
    assert len(pushes(faults)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_push_the_worker_never_took_is_sent_by_the_recheck_or_failed_when_too_old(faults, cashier, no_worker,
                                                                                      settings):
    recent, _ = services.initiate_payment(make_sale(cashier, "150.00"), "mpesa", "150", phone_number=APPROVES,
                                          user=cashier)
    old, _ = services.initiate_payment(make_sale(cashier, "80.00"), "mpesa", "80", phone_number=APPROVES,
                                       user=cashier)
    assert recent.status == old.status == "pending" and not recent.sent_at and not old.sent_at
    now = timezone.now()
    Payment.objects.filter(pk=recent.pk).update(created_at=now - timedelta(seconds=30))
    Payment.objects.filter(pk=old.pk).update(
        created_at=now - timedelta(seconds=settings.PAYMENT_EXPIRE_AFTER_SECONDS + 60))
    # Not asked about before it is sent: the regular re-check skips it.
    assert services.verify_stale_payments()["verified"] == 0

    counts = services.recheck_money()["unsent"]
    assert counts == {"payments_sent": 1, "payments_failed": 1, "refunds_sent": 0}
    recent, old = fresh(recent), fresh(old)
    assert recent.status == "processing" and recent.provider_reference and recent.sent_at
    assert old.status == "failed" and old.result_code == "not_sent" and "never reached" in old.result_message
    assert len(pushes(faults)) == 1  # only the recent one: the old one never reaches M-Pesa
    assert services.recheck_money()["unsent"] == {"payments_sent": 0, "payments_failed": 0, "refunds_sent": 0}
    assert sale_of(old).status == "pending_payment"  # the cashier takes the money another way


@pytest.mark.django_db(transaction=True)
def test_a_refund_the_worker_never_took_is_sent_once_by_the_recheck(faults, cashier, manager, settings,
                                                                     monkeypatch):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("100000")
    payment, _ = services.initiate_payment(make_sale(cashier, "300.00"), "mpesa", "300", phone_number=APPROVES,
                                           user=cashier)
    assert wait_until(lambda: fresh(payment).status == "completed", timeout=20)
    monkeypatch.setattr(Conf, "SYNC", False)  # the task worker is down from here on
    refund, _ = services.request_refund(fresh(payment), "300", "customer changed their mind", manager)
    assert refund.status == "processing" and refund.sent_at is None
    assert services.recheck_refunds()["checked"] == 0  # nothing to ask about a refund never sent
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(seconds=30))
    assert services.recheck_money()["unsent"]["refunds_sent"] == 1
    assert fresh(refund).sent_at and services.send_refund(refund.pk) is None
    assert len([seen for seen in faults.seen if "reversal/v1/request" in seen[1]]) == 1
    assert wait_until(lambda: fresh(refund).status == "completed", timeout=20)


@pytest.mark.django_db(transaction=True)
def test_the_admins_verify_now_is_sent_by_the_worker_not_on_the_managers_request(faults, cashier, manager, no_worker):
    from django_q.models import OrmQ

    from pos.payments import tasks
    from tests.conftest import client_for

    payment, _ = services.initiate_payment(make_sale(cashier, "120.00"), "mpesa", "120", phone_number=APPROVES,
                                           user=cashier)
    tasks.send_payment(payment.pk)  # what the worker does with the push
    assert fresh(payment).provider_reference
    queries = lambda: [seen for seen in faults.seen if seen[1].endswith("/stkpushquery/v1/query")]  # noqa: E731
    answer = client_for(manager).post(f"/admin/payments/payment/{payment.pk}/verify-now/", follow=True)
    assert f"Asked the provider about payment #{payment.pk}" in answer.content.decode()
    assert queries() == [] and fresh(payment).verify_attempts == 0  # nothing asked on the manager's request
    queued = [task.task for task in OrmQ.objects.all()]
    assert [(t["func"], t["args"]) for t in queued if t["func"].endswith("verify_payment")] == [
        ("pos.payments.tasks.verify_payment", (payment.pk,))]
    tasks.verify_payment(payment.pk)  # the worker takes it
    assert len(queries()) == 1 and fresh(payment).verify_attempts == 1
