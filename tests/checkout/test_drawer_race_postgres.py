"""Two tills pay the same return in cash from their drawers at the same moment (a sale paid by M-Pesa):
exactly what the return owes leaves one drawer, never twice (PostgreSQL row locks)."""

import threading
from decimal import Decimal as D

import pytest
from django.db import connection
from django.utils import timezone

from pos.accounts.models import Role
from pos.core.books import check_books
from pos.payments.models import Payment, Refund
from pos.sales.models import SaleReturn
from pos.sales.services import LineRequest, create_sale, open_shift, return_items, settle_sale, shift_report
from tests.conftest import api_client_for
from tests.factories import UserFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_cash_refunds_of_one_return_at_once_pay_exactly_what_is_owed(needs_postgres, cashier, shop):
    open_shift(cashier, D("1000"))
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(D(3), product=shop["sugar"].pk)])
    Payment.objects.create(sale=sale, method="mpesa", amount=sale.total, status="completed", receipt="QKR1",
                           completed_at=timezone.now())
    settle_sale(sale)
    managers = [UserFactory(role=Role.MANAGER, username=f"m{n}") for n in range(2)]
    shifts = [open_shift(manager, D("500")) for manager in managers]
    sale_return = return_items(sale, [(sale.items.get().pk, "2")], managers[0], "wrong sugar")
    assert sale_return.amount == D("360.00")
    start = threading.Barrier(2)
    answers = []

    def refund(manager, n):
        try:
            client = api_client_for(manager)
            start.wait(timeout=30)
            answer = client.post(f"/api/sales/returns/{sale_return.pk}/refund/", {"refund": "cash"}, format="json",
                                 HTTP_IDEMPOTENCY_KEY=f"till-{n}")
            answers.append((answer.status_code, answer.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(m, n)) for n, m in enumerate(managers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(code for code, _ in answers) == [200, 400], answers
    refused = next(data for code, data in answers if code == 400)
    assert refused["code"] in ("refund_too_large", "nothing_owed"), refused
    refunds = list(Refund.objects.all())
    assert [(r.amount, r.status, r.payment.method) for r in refunds] == [(D("360.00"), "completed", "mpesa")]
    paid_from = refunds[0].drawer_shift
    assert paid_from in shifts
    assert [shift_report(s).cash.refunds for s in shifts] == [D("360.00") if s == paid_from else D("0.00")
                                                              for s in shifts]
    assert SaleReturn.objects.get().refunds.count() == 1
    assert check_books() == []
