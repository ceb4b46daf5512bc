"""One C2B payment never settles two sales, even when two tills claim it at the same moment (PostgreSQL)."""

from decimal import Decimal

import pytest

from pos.c2b import services
from pos.c2b.models import ReceivedPayment
from pos.core.books import check_books
from pos.core.errors import ServiceError
from pos.payments.models import Payment
from tests.c2b.conftest import c2b_body
from tests.payments.conftest import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_receipt_claimed_by_two_tills_at_once_settles_exactly_one_sale(needs_postgres, post_c2b, sell, cashier):
    for round_ in range(3):
        sales = [sell("320.00"), sell("320.00")]
        trans_id = f"SKRACE{round_:04d}"
        post_c2b("confirmation", c2b_body(trans_id, "320.00"))  # two sales of 320: nobody auto-matches
        receipt = ReceivedPayment.objects.get(trans_id=trans_id)
        claims = iter(sales)

        def claim(receipt=receipt, sale_for=lambda: next(claims)):
            sale = sale_for()
            try:
                return services.match_receipt(receipt, sale, user=cashier)
            except ServiceError as exc:
                return exc

        results = in_threads(2, claim)
        won = [r for r in results if isinstance(r, Payment)]
        lost = [r for r in results if isinstance(r, ServiceError)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].code == "already_matched"
        assert Payment.objects.filter(receipt=trans_id).count() == 1
        paid = [s for s in sales if (s.refresh_from_db() or s.status == "paid")]
        assert len(paid) == 1 and paid[0].paid_amount == Decimal("320.00")
        receipt.refresh_from_db()
        assert receipt.payment_id == won[0].pk
    assert [p for p in check_books() if p.startswith(("payment", "c2b"))] == []
