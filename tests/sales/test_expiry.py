"""Unpaid sales expire after SALE_PAYMENT_TIMEOUT: a django-q2 task (run inline, sync mode) cancels them
and their stock comes back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, result

from pos.core.schedules import ensure_schedules
from pos.payments.models import Payment
from pos.sales.models import Sale
from pos.sales.services import LineRequest, create_sale


def unpaid(cashier, product, minutes_old):
    sale, _ = create_sale(cashier=cashier, items=[LineRequest(Decimal("2"), product=product.pk)])
    Sale.objects.filter(pk=sale.pk).update(confirmed_at=timezone.now() - timedelta(minutes=minutes_old))
    return sale


@pytest.mark.django_db
def test_the_task_cancels_old_unpaid_sales_and_restores_their_stock(cashier, till, goods, settings):
    settings.SALE_PAYMENT_TIMEOUT = 900
    sugar, milk = goods
    old = unpaid(cashier, sugar, 16)
    young = unpaid(cashier, sugar, 5)
    waiting = unpaid(cashier, milk, 30)
    Payment.objects.create(sale=waiting, method="mpesa", amount=waiting.total, status="processing")
    task_id = async_task("pos.sales.tasks.expire_unpaid_sales", sync=True)
    assert result(task_id) == 1
    old.refresh_from_db()
    assert old.status == "cancelled" and old.cancel_reason == "expired" and old.cancelled_by is None
    assert Sale.objects.get(pk=young.pk).status == "pending_payment"
    assert Sale.objects.get(pk=waiting.pk).status == "pending_payment"
    sugar.refresh_from_db()
    milk.refresh_from_db()
    assert sugar.stock_quantity == Decimal("8") and milk.stock_quantity == Decimal("8")


@pytest.mark.django_db
def test_the_expiry_runs_every_minute_as_a_schedule():
    ensure_schedules()
    schedule = Schedule.objects.get(name="Expire unpaid sales")
    assert schedule.func == "pos.sales.tasks.expire_unpaid_sales"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 1)
