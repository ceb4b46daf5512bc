from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django_q.models import Schedule
from django_q.tasks import async_task

from pos.core.schedules import ensure_schedules
from pos.inventory import tasks
from pos.inventory.models import StockAlert
from pos.inventory.services import adjust_stock, resolve_alert, scan_low_stock
from tests.factories import ProductFactory, UserFactory
from tests.qcluster import running_qcluster, wait_until


def raw_stock(product, quantity):
    """Stock changed behind the services' back, as a bulk import or a hand-made SQL fix would."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET stock_quantity = %s WHERE id = %s", [quantity, product.pk])


def statuses(product):
    return list(StockAlert.objects.filter(product=product).order_by("pk").values_list("status", flat=True))


@pytest.fixture
def managers_with_email(db):
    return [UserFactory(role="manager", email="amina@duka.test"), UserFactory(role="admin", email="otieno@duka.test"),
            UserFactory(role="manager", email=""), UserFactory(role="cashier", email="till@duka.test")]


@pytest.mark.django_db
def test_alert_raised_once_and_resolved_by_replenishment(manager):
    p = ProductFactory(reorder_level=Decimal("5"))
    adjust_stock(p, Decimal("8"), user=manager, reason="opening")
    assert statuses(p) == []
    adjust_stock(p, Decimal("-3"), user=manager, reason="expired")  # exactly at the level: low
    adjust_stock(p, Decimal("-2"), user=manager, reason="expired")
    scan_low_stock()
    assert statuses(p) == ["active"]
    assert StockAlert.objects.get(product=p).quantity == Decimal("5")  # stock when it was raised
    adjust_stock(p, Decimal("10"), user=manager, reason="delivery")
    assert statuses(p) == ["resolved"]


@pytest.mark.django_db
def test_scan_catches_changes_made_outside_the_services_in_constant_queries(django_assert_max_num_queries):
    few = [ProductFactory(reorder_level=Decimal("3")) for _ in range(2)]
    with django_assert_max_num_queries(5):
        assert scan_low_stock()["raised"] == 2
    many = [ProductFactory(reorder_level=Decimal("3")) for _ in range(40)]
    with django_assert_max_num_queries(5):
        assert scan_low_stock()["raised"] == 40
    assert scan_low_stock() == {"raised": 0, "resolved": 0}
    for p in few + many[:10]:
        raw_stock(p, 50)
    with django_assert_max_num_queries(5):
        assert scan_low_stock() == {"raised": 0, "resolved": 12}
    assert StockAlert.objects.filter(status="active").count() == 30


@pytest.mark.django_db
def test_resolved_by_hand_stays_quiet_until_restocked(manager):
    p = ProductFactory(reorder_level=Decimal("5"))
    adjust_stock(p, Decimal("2"), user=manager, reason="opening")
    alert = StockAlert.objects.get(product=p)
    alert = resolve_alert(alert, user=manager)
    assert alert.status == "dismissed" and alert.resolved_by == manager
    adjust_stock(p, Decimal("-1"), user=manager, reason="broken")
    scan_low_stock()
    assert statuses(p) == ["dismissed"]  # no new alert while it stays low
    adjust_stock(p, Decimal("10"), user=manager, reason="delivery")
    adjust_stock(p, Decimal("-10"), user=manager, reason="sold to a school")
    assert statuses(p) == ["resolved", "active"]  # the next fall below the level is news again


@pytest.mark.django_db
def test_digest_mails_managers_the_new_alerts_once(managers_with_email):
    sugar = ProductFactory(name="Sugar 2kg", sku="SUG-2", reorder_level=Decimal("10"))
    ProductFactory(name="Salt 1kg", reorder_level=Decimal("1"))
    raw_stock(ProductFactory(name="Bread", reorder_level=Decimal("1")), 40)
    result = tasks.scan_low_stock()
    assert result == {"raised": 2, "resolved": 0, "notified": 2}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["amina@duka.test", "otieno@duka.test"]
    assert "2 products" in message.subject
    assert "Sugar 2kg (SKU SUG-2): 0.000 in stock, reorder level 10.000" in message.body
    assert "Bread" not in message.body
    assert "/admin/inventory/stockalert/" in message.body
    assert tasks.scan_low_stock()["notified"] == 0
    assert len(mail.outbox) == 1  # never the same alert twice
    raw_stock(sugar, 3)  # still low: same alert, no new mail
    ProductFactory(name="Tea leaves", reorder_level=Decimal("2"))
    tasks.scan_low_stock()
    assert len(mail.outbox) == 2 and "Tea leaves" in mail.outbox[1].body and "Sugar" not in mail.outbox[1].body
    assert not StockAlert.objects.filter(notified_at__isnull=True).exists()


@pytest.mark.django_db
def test_no_manager_address_sends_nothing_and_keeps_alerts_for_later(manager):
    ProductFactory(reorder_level=Decimal("1"))
    assert tasks.scan_low_stock()["notified"] == 0
    assert mail.outbox == []
    manager.email = "manager@duka.test"
    manager.save()
    assert tasks.scan_low_stock()["notified"] == 1
    assert mail.outbox[0].to == ["manager@duka.test"]


@pytest.mark.django_db
def test_scan_runs_through_django_q_in_sync_mode(managers_with_email):
    p = ProductFactory(reorder_level=Decimal("4"))
    async_task("pos.inventory.tasks.scan_low_stock")  # Q_SYNC=1 in the test settings: runs inline
    assert statuses(p) == ["active"]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_schedule_is_created_once_with_the_configured_interval(settings):
    ensure_schedules()
    ensure_schedules()
    schedule = Schedule.objects.get(func="pos.inventory.tasks.scan_low_stock")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == settings.LOW_STOCK_SCAN_MINUTES
    assert schedule.repeats == -1


@pytest.mark.qcluster
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_runs_the_low_stock_scan():
    UserFactory(role="manager", email="amina@duka.test")
    p = ProductFactory(reorder_level=Decimal("6"))
    with running_qcluster():
        async_task("pos.inventory.tasks.scan_low_stock", sync=False)
        alert = wait_until(lambda: StockAlert.objects.filter(product=p, status="active").first(), timeout=60)
        assert alert is not None, "the qcluster did not run the scan"
        assert wait_until(lambda: StockAlert.objects.filter(pk=alert.pk, notified_at__isnull=False).exists())
    assert alert.reorder_level == Decimal("6")
