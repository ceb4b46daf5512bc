"""The dashboard (API, unfold admin index), the admin report pages and the shift X/Z report."""

from datetime import timedelta
from decimal import Decimal as Dec

import pytest

from pos.payments.models import Payment
from pos.payments.services import pay_cash
from pos.reports.queries import dashboard
from pos.sales.models import Shift
from pos.sales.services import cancel_sale, close_shift
from tests.reports.conftest import D1, D, at, dated, login, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def last_week(shop, cashier):
    milk = shop["products"][1]
    early = sell(cashier, [(milk, "1", "0")])
    pay_cash(early, amount_tendered=Dec(65), user=cashier)
    late = sell(cashier, [(milk, "2", "0")])
    pay_cash(late, amount_tendered=Dec(130), user=cashier)
    dated(early, at(D - timedelta(days=7), 9))
    dated(late, at(D - timedelta(days=7), 16))
    Payment.objects.create(sale=shop["p"], method="mpesa", amount=Dec(100), status="processing",
                           provider_reference="ws_CO_wait")
    Payment.objects.create(sale=shop["p"], method="airtel", amount=Dec(100), status="failed",
                           provider_reference="AT-fail")
    return early, late


def test_dashboard_today_so_far_against_the_same_weekday_last_week(last_week):
    data = dashboard(now=at(D, 15))
    assert (data["today"]["net_sales"], data["today"]["sales_count"]) == (Dec("400.00"), 1)  # A at 10:00 only
    assert (data["last_week"]["net_sales"], data["last_week"]["sales_count"]) == (Dec("65.00"), 1)  # 09:00, not 16:00
    assert data["change_percent"] == Dec("515.38")
    assert [p["name"] for p in data["top_products"]] == ["Sugar", "Milk"]
    assert [(m["method"], m["amount"]) for m in data["payments_by_method"]] == [("cash", Dec("400.00"))]
    assert data["payments_waiting_count"] == 1 and data["payments_failed_count"] == 1
    shifts = {s["cashier"]: s for s in data["open_shifts"]}
    assert (shifts["cashier"]["sales_count"], shifts["cashier"]["sales_total"]) == (4, Dec("865.00"))
    assert (shifts["cashier2"]["sales_count"], shifts["cashier2"]["sales_total"]) == (1, Dec("195.00"))
    assert sum(h["net_sales"] for h in data["by_hour"]) == Dec("670.00")


def test_dashboard_lists_active_low_stock_alerts(shop, manager):
    from pos.inventory.services import adjust_stock

    adjust_stock(shop["products"][0], Dec(-4), user=manager, reason="spoilt")  # Sugar 8 -> 4, reorder level 5
    data = dashboard()
    assert data["low_stock_count"] == 1 and data["low_stock"][0]["name"] == "Sugar"


def test_admin_index_shows_the_dashboard_with_charts(client, manager, shop):
    login(client, manager)
    page = client.get("/admin/").content.decode()
    assert "Net sales today" in page and 'class="chart"' in page and "Open shifts" in page
    assert "/admin/reports/shift/" in page


def test_the_dashboard_callback_gives_cashiers_no_shop_figures(rf, cashier, shop):
    from pos.reports.dashboard import dashboard_callback

    request = rf.get("/admin/")
    request.user = cashier
    assert "dashboard" not in dashboard_callback(request, {})


def test_admin_sales_page_has_the_figures_a_period_picker_and_downloads(client, manager, shop):
    login(client, manager)
    page = client.get("/admin/reports/sales/", {"period": "custom", "start": str(D), "end": str(D1)})
    html = page.content.decode()
    assert page.status_code == 200 and "696.00" in html and 'name="period"' in html
    assert "/api/reports/sales/?period=custom&amp;start=2026-03-10&amp;end=2026-03-11&amp;format=xlsx" in html


def test_admin_pages_for_profit_and_inventory(client, bookkeeper, shop):
    login(client, bookkeeper)
    profit = client.get("/admin/reports/profit/", {"period": "custom", "start": str(D), "end": str(D1)})
    assert "75.40" in profit.content.decode()
    assert "1,980.00" in client.get("/admin/reports/inventory/").content.decode()


def test_admin_bad_period_shows_a_message_and_today(client, manager):
    login(client, manager)
    page = client.get("/admin/reports/sales/", {"period": "custom", "start": "2026-03-10"})
    assert page.status_code == 200 and "Required for a custom period" in page.content.decode()


def test_cashiers_are_refused_the_profit_and_inventory_pages(client, cashier, shop):
    login(client, cashier)
    assert client.get("/admin/reports/profit/").status_code == 403
    assert client.get("/admin/reports/inventory/").status_code == 403
    page = client.get("/admin/reports/sales/", {"period": "custom", "start": str(D), "end": str(D1)})
    assert page.status_code == 200 and "your sales only" in page.content.decode()


def test_x_report_of_an_open_shift(api, cashier, other_cashier, shop):
    shift = Shift.objects.get(cashier=cashier)
    body = api(cashier).get(f"/api/reports/shifts/{shift.pk}/").json()
    assert body["kind"] == "X" and body["sales_count"] == 2 and body["sales_total"] == "670.00"
    methods = {m["method"]: m for m in body["methods"]}
    assert methods["cash"]["payments"] == "500.00" and methods["mpesa"]["payments"] == "170.00"
    assert body["expected_cash"] == "1500.00" and body["counted_cash"] is None
    assert api(other_cashier).get(f"/api/reports/shifts/{shift.pk}/").status_code == 404


def test_z_report_with_counted_cash_and_variance_and_its_pdf(api, client, manager, other_cashier, shop):
    shift = Shift.objects.get(cashier=other_cashier)
    close_shift(shift, Dec(700), manager)
    body = api(manager).get(f"/api/reports/shifts/{shift.pk}/").json()
    assert body["kind"] == "Z"
    assert (body["expected_cash"], body["counted_cash"], body["cash_variance"]) == ("695.00", "700.00", "5.00")
    pdf = api(manager).get(f"/api/reports/shifts/{shift.pk}/", {"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    login(client, manager)
    assert "Z report" in client.get(f"/admin/reports/shift/{shift.pk}/").content.decode()
    assert client.get(f"/admin/reports/shift/{shift.pk}/pdf/").content.startswith(b"%PDF")


def test_closing_after_cancelling_the_unpaid_sale_gives_a_z_report(api, manager, cashier, shop):
    cancel_sale(shop["p"], user=cashier)
    shift = Shift.objects.get(cashier=cashier)
    close_shift(shift, Dec(1490), manager)
    body = api(manager).get(f"/api/reports/shifts/{shift.pk}/").json()
    assert (body["expected_cash"], body["cash_variance"], body["cancelled_count"]) == ("1500.00", "-10.00", 2)
