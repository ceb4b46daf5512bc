"""The daily e-mail task, its schedule, and query counts that do not grow with the number of sales."""

import io
from datetime import timedelta
from decimal import Decimal as Dec

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule
from openpyxl import load_workbook

from pos.core.schedules import ensure_schedules
from pos.payments.services import pay_cash
from pos.reports import exports, queries, tasks
from pos.reports.queries import Period, resolve_period, shop_zone
from pos.sales.services import open_shift
from tests.reports.conftest import D, sell

pytestmark = pytest.mark.django_db


def test_the_daily_task_mails_managers_and_bookkeepers_one_summary_with_the_xlsx(manager, bookkeeper, cashier,
                                                                                 product, django_user_model):
    django_user_model.objects.filter(pk__in=[manager.pk, bookkeeper.pk, cashier.pk]).update(email="x@shop.ke")
    django_user_model.objects.filter(pk=manager.pk).update(email="manager@shop.ke")
    django_user_model.objects.filter(pk=bookkeeper.pk).update(email="books@shop.ke")
    from pos.inventory.services import adjust_stock

    adjust_stock(product, Dec(5), user=manager, reason="opening")
    open_shift(cashier, Dec(0))
    sale = sell(cashier, [(product, "2", "0")])
    pay_cash(sale, amount_tendered=Dec(400), user=cashier)

    assert tasks.email_daily_summary() == 2
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["books@shop.ke", "manager@shop.ke"]
    assert "Net sales:" in message.body and "360.00" in message.body
    name, content, mimetype = message.attachments[0]
    assert name.endswith(".xlsx") and mimetype == exports.XLSX_TYPE
    summary = {r[0]: r[1] for r in load_workbook(io.BytesIO(content))["Summary"].iter_rows(min_row=2,
                                                                                            values_only=True)}
    assert summary["Net sales (VAT incl.)"] == pytest.approx(360.0) and summary["Number of sales"] == 1


def test_no_mail_without_recipients(manager):
    assert tasks.email_daily_summary() == 0 and mail.outbox == []


def test_the_schedule_is_created_once_daily_at_2100_shop_time():
    ensure_schedules()
    ensure_schedules()
    schedules = Schedule.objects.filter(name="Daily sales summary e-mail")
    assert schedules.count() == 1
    schedule = schedules.get()
    assert (schedule.func, schedule.schedule_type, schedule.cron) == ("pos.reports.tasks.email_daily_summary", "C",
                                                                     "0 21 * * *")
    local = timezone.localtime(schedule.next_run, shop_zone())
    assert (local.hour, local.minute) == (21, 0) and schedule.next_run > timezone.now()
    assert timezone.localtime(schedule.calculate_next_run(), shop_zone()).hour == 21


def test_next_run_is_today_before_2100_and_tomorrow_after():
    from datetime import datetime

    morning = datetime(2026, 3, 10, 8, 0, tzinfo=shop_zone())
    evening = datetime(2026, 3, 10, 22, 0, tzinfo=shop_zone())
    assert tasks.next_daily_run(morning).date() == D
    assert tasks.next_daily_run(evening).date() == D + timedelta(days=1)


# --- query counts ------------------------------------------------------------------------------------

def _reports():
    today = resolve_period("today")
    year = Period("custom", today.end - timedelta(days=365), today.end)
    return {
        "sales today": lambda: queries.sales_report(today),
        "sales year": lambda: queries.sales_report(year),
        "profit": lambda: queries.profit_report(year),
        "inventory": lambda: queries.inventory_report(year),
        "dashboard": lambda: queries.dashboard(),
        "ledger": lambda: list(exports.ledger_rows(year)),
    }


# "sales today" and the dashboard read their lines and the rounding lines of their sales and returns.
LIMITS = {"sales today": 13, "sales year": 12, "profit": 7, "inventory": 8, "dashboard": 26,
          "ledger": 53 + 1}  # the ledger reads a year's sale lines a week at a time (53 weeks), then the returns
# On PostgreSQL a report runs in its own transaction (a savepoint inside a test) that sets jit and work_mem.
SESSION = {"sales today", "sales year", "profit", "inventory"}


def _sell_many(cashier, products, count):
    for n in range(count):
        sale = sell(cashier, [(products[n % 3], "1", "0"), (products[(n + 1) % 3], "2", "1.00")],
                    discount="3.00" if n % 2 else "0")
        pay_cash(sale, amount_tendered=sale.total, user=cashier)


def _counts():
    counts = {}
    for name, run in _reports().items():
        with CaptureQueriesContext(connection) as captured:
            run()
        counts[name] = len(captured)
    return counts


def test_query_counts_are_the_same_for_5_and_50_sales(cashier, manager, products, django_assert_max_num_queries):
    from pos.inventory.services import adjust_stock

    for p in products:
        adjust_stock(p, Dec(200), user=manager, reason="stock up")
    open_shift(cashier, Dec(0))
    _sell_many(cashier, products, 5)
    with_5 = _counts()
    _sell_many(cashier, products, 45)
    with_50 = _counts()
    assert with_5 == with_50
    assert queries.sales_report(resolve_period("today"))["totals"]["sales_count"] == 50
    for name, run in _reports().items():
        with django_assert_max_num_queries(LIMITS[name] + (3 if name in SESSION and connection.vendor == "postgresql"
                                                             else 0)):
            run()
