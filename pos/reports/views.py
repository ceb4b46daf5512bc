"""Admin report pages (unfold look): period pickers, figures, charts and download buttons.

The figures come from pos.reports.queries; downloads are the API's ?format=xlsx|csv links (the admin
session authenticates them). Same role rules as the API: cashiers see the sales page for their own
sales only, and are refused the profit and inventory pages.
"""

import json
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.core.permissions import can, can_any, may_act_for
from pos.reports import queries, services
from pos.reports.api import product_page, slow_days
from pos.reports.pdf import report_pdf, shift_pdf
from pos.sales.models import Shift


def _require(request, *perms):
    """Any one of `perms` lets the user in (pos.core.permissions: asked with has_perm)."""
    if not can_any(request.user, *perms):
        raise PermissionDenied("You may not see this report.")


def fmt(value, kind="money"):
    """Display only: money with thousands separators, quantities without trailing zeros."""
    if value is None:
        return "-"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "quantity":
        return f"{Decimal(value).normalize():,f}"
    if kind == "percent":
        return f"{value:.2f} %"
    if kind == "datetime":
        return timezone.localtime(value, queries.shop_zone()).strftime("%Y-%m-%d %H:%M")
    return str(value)


def table(columns, rows, totals=None):
    """An unfold table component: columns are (header, key, kind)."""
    body = [[fmt(row.get(key), kind) for _, key, kind in columns] for row in rows]
    if totals is not None:
        body.append(["Total", *[fmt(totals.get(key), kind) if key in totals else "" for _, key, kind in columns[1:]]])
    return {"headers": [header for header, _, _ in columns], "rows": body}


def chart(labels, *datasets):
    """Data for unfold's Chart.js components: datasets are (label, values, color)."""
    return json.dumps({"labels": labels, "datasets": [
        {"label": label, "data": [float(v) for v in values], "backgroundColor": color, "borderColor": color}
        for label, values, color in datasets
    ]})


def _period(request, default):
    """The period asked in the query string; on bad input a message and the default period."""
    params = request.GET
    try:
        return queries.resolve_period(params.get("period") or default, params.get("start"), params.get("end"))
    except ServiceError as exc:
        messages.error(request, f"{exc.field}: {exc.message}")
        return queries.resolve_period(default)


def _downloads(request, api_name, extra=None):
    query = {k: v for k, v in request.GET.items() if k in ("period", "start", "end", "days") and v}
    query.update(extra or {})
    base = reverse(f"reports-api:{api_name}")
    page = {k: v for k, v in request.GET.items() if k != "pdf" and v}
    return [*({"label": label, "href": f"{base}?{urlencode({**query, 'format': fmt_})}"}
              for label, fmt_ in (("Excel", "xlsx"), ("CSV", "csv"))),
            {"label": "PDF", "href": f"{request.path}?{urlencode({**page, 'pdf': '1'})}"}]


def _rows(request):
    """The rows of the per-product lists to show (limit/offset in the query string; the Excel and CSV
    downloads hold every row)."""
    try:
        return product_page(request.GET)
    except ServiceError as exc:
        messages.error(request, f"{exc.field}: {exc.message}")
        return product_page({})


def _title(title, shown, count, page):
    """A long list's title says which of its rows the page shows."""
    if count <= len(shown) and not page.offset:
        return title
    if not shown:
        return f"{title} (none of {count:,} from row {page.offset + 1:,})"
    return f"{title} ({page.offset + 1:,}-{page.offset + len(shown):,} of {count:,}; the downloads hold all)"


def _page(request, template, title, period, **extra):
    """The report page, or with ?pdf=1 the same figures and tables as a PDF download."""
    if request.GET.get("pdf") and extra.get("tables") is not None:
        subtitle = ""
        if period is not None:
            subtitle = f"{period.start:%a %d %b %Y}" + ("" if period.end == period.start else f" – {period.end:%a %d %b %Y}")
            if extra.get("report", {}).get("cashier"):
                subtitle += f" · sales of {extra['report']['cashier']}"
        response = HttpResponse(report_pdf(title, subtitle, extra.get("kpis", []), extra["tables"]),
                                content_type="application/pdf")
        stamp = period.start.isoformat() if period is not None else timezone.localdate().isoformat()
        name = title.lower().replace(" ", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.pdf"'
        return response
    return render(request, template, {
        **admin.site.each_context(request), "title": title, "period": period, "periods": queries.PERIODS,
        "is_fullwidth": "1", **extra,
    })


SALES_COLUMNS = [("Gross", "gross_sales", "money"), ("Discounts", "discounts", "money"),
                 ("Refunds", "refunds", "money"), ("Net sales", "net_sales", "money"), ("VAT", "vat", "money"),
                 ("Sales", "sales_count", "integer")]
PROFIT_COLUMNS = [("Quantity", "quantity", "quantity"), ("Revenue ex VAT", "revenue", "money"),
                  ("Cost of goods", "cogs", "money"), ("Gross margin", "gross_margin", "money"),
                  ("Margin", "margin_percent", "percent")]


def sales_page(request):
    _require(request, "reports.view_reports", "sales.view_sale")
    period = _period(request, "today")
    cashier = None if can(request.user, "reports.view_reports") else request.user
    rows = _rows(request)
    report = queries.sales_report(period, cashier=cashier, products=rows)
    t = report["totals"]
    timeline = report["by_hour"] or report["by_day"]
    labels = [f"{r['hour']:%H}:00" if "hour" in r else f"{r['date']:%d %b}" for r in timeline]
    downloads = _downloads(request, "sales")
    if can(request.user, "reports.view_reports", "reports.view_profit"):  # the ledger: every sale and returned line
        query = {k: v for k, v in request.GET.items() if k in ("period", "start", "end") and v}
        downloads.append({"label": "Sales lines (Excel)",
                          "href": f"{reverse('reports-api:sales-lines-export')}?{urlencode(query)}"})
    return _page(
        request, "reports/sales.html", "Sales report", period, report=report, downloads=downloads,
        kpis=[("Net sales", fmt(t["net_sales"])), ("Sales", t["sales_count"]),
                                 ("Average basket", fmt(t["average_basket"])), ("Discounts", fmt(t["discounts"])),
                                 ("Refunds", fmt(t["refunds"])), ("VAT", fmt(t["vat"]))],
        chart=chart(labels, ("Net sales", [r["net_sales"] for r in timeline], "#2563eb")),
        tables=[
            (_title("By product", report["by_product"], report["product_count"], rows),
             table([("Product", "name", "text"), ("Quantity", "quantity", "quantity"), *SALES_COLUMNS[:-1]],
                   report["by_product"], t)),
            ("By category", table([("Category", "category", "text"), *SALES_COLUMNS[:-1]], report["by_category"], t)),
            ("By cashier", table([("Cashier", "cashier", "text"), *SALES_COLUMNS], report["by_cashier"], t)),
            ("By payment method", table([("Method", "label", "text"), ("Payments", "payments", "integer"),
                                         ("Amount", "amount", "money"), ("Refunded", "refunds", "money")],
                                        report["by_payment_method"])),
            ("By day", table([("Date", "date", "text"), *SALES_COLUMNS], report["by_day"], t)),
        ])


def profit_page(request):
    _require(request, "reports.view_profit")
    period = _period(request, "month")
    rows = _rows(request)
    report = queries.profit_report(period, products=rows)
    t = report["totals"]
    return _page(request, "reports/profit.html", "Profit and loss", period, report=report,
                 downloads=_downloads(request, "profit"),
                 kpis=[("Revenue ex VAT", fmt(t["revenue"])), ("Cost of goods", fmt(t["cogs"])),
                       ("Gross margin", fmt(t["gross_margin"])), ("Margin", fmt(t["margin_percent"], "percent"))],
                 chart=chart([f"{r['date']:%d %b}" for r in report["by_day"]],
                             ("Revenue", [r["revenue"] for r in report["by_day"]], "#2563eb"),
                             ("Gross margin", [r["gross_margin"] for r in report["by_day"]], "#16a34a")),
                 tables=[
                     ("By category", table([("Category", "category", "text"), *PROFIT_COLUMNS], report["by_category"],
                                           t)),
                     (_title("By product", report["by_product"], report["product_count"], rows),
                      table([("Product", "name", "text"), *PROFIT_COLUMNS], report["by_product"], t)),
                 ])


def inventory_page(request):
    _require(request, "reports.view_reports")
    period = _period(request, "month")
    try:
        days = slow_days(request.GET.get("days"))
    except ServiceError as exc:
        messages.error(request, f"{exc.field}: {exc.message}")
        days = 30
    rows = _rows(request)
    report = queries.inventory_report(period, slow_days=days, products=rows)
    t = report["totals"]
    values = [("Value at cost", "value_at_cost", "money"), ("Value at retail", "value_at_retail", "money")]
    return _page(request, "reports/inventory.html", "Inventory report", period, report=report, days=days,
                 downloads=_downloads(request, "inventory"),
                 kpis=[("Products", t["products"]), ("Value at cost", fmt(t["value_at_cost"])),
                       ("Value at retail", fmt(t["value_at_retail"])), ("Low stock", report["low_stock_count"]),
                       ("Slow movers at cost", fmt(report["slow_movers_value"]))],
                 tables=[
                     ("By category", table([("Category", "category", "text"), ("Products", "products", "integer"),
                                            ("On hand", "quantity", "quantity"), *values], report["by_category"], t)),
                     (_title("Low stock", report["low_stock"], report["low_stock_count"], rows), table(
                         [("Product", "name", "text"), ("On hand", "stock_quantity", "quantity"),
                          ("Reorder level", "reorder_level", "quantity")], report["low_stock"])),
                     (_title(f"Slow movers (no sale in {days} days)", report["slow_movers"],
                             report["slow_movers_count"], rows), table(
                         [("Product", "name", "text"), ("On hand", "stock_quantity", "quantity"),
                          ("Last sold", "last_sold_on", "date"), ("Value at cost", "value_at_cost", "money")],
                         report["slow_movers"])),
                     ("Stock movements in the period", table(
                         [("Kind", "label", "text"), ("Movements", "movements", "integer"),
                          ("In", "quantity_in", "quantity"), ("Out", "quantity_out", "quantity"),
                          ("Value at cost", "value_at_cost", "money")], report["movements"])),
                     (_title("Stock on hand", report["by_product"], report["product_count"], rows), table(
                         [("Product", "name", "text"), ("Category", "category", "text"),
                          ("On hand", "stock_quantity", "quantity"), *values], report["by_product"], t)),
                 ])


def _shift(request, pk):
    shift = Shift.objects.select_related("cashier").filter(pk=pk).first()
    if shift is None or not (can(request.user, "reports.view_reports") or may_act_for(request.user, shift.cashier_id)):
        raise Http404("No such shift.")
    return shift


def shift_page(request, pk):
    summary = services.shift_summary(_shift(request, pk))
    return _page(request, "reports/shift.html", f"{summary['kind']} report - shift #{pk}", None, summary=summary,
                 kpis=[("Sales", summary["sales_count"]), ("Net sales", fmt(summary["net_sales"])),
                       ("Expected cash", fmt(summary["expected_cash"])), ("Counted cash", fmt(summary["counted_cash"])),
                       ("Variance", fmt(summary["cash_variance"]))],
                 tables=[("By payment method", table(
                     [("Method", "label", "text"), ("Opening", "opening", "money"), ("Payments", "payments", "money"),
                      ("Change", "change", "money"), ("Refunds", "refunds", "money"), ("Expected", "expected", "money"),
                      ("Counted", "counted", "money"), ("Difference", "difference", "money")], summary["methods"])),
                     ("VAT by rate", table([("Rate %", "rate", "text"), ("Total", "total", "money"),
                                            ("VAT", "tax", "money"), ("Net", "net", "money")], summary["vat"]))],
                 pdf_url=reverse("reports:shift_pdf", args=[pk]))


def shift_pdf_view(request, pk):
    summary = services.shift_summary(_shift(request, pk))
    response = HttpResponse(shift_pdf(summary), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="shift-{pk}-{summary["kind"]}.pdf"'
    return response
