"""The admin index (django-unfold DASHBOARD_CALLBACK): today's numbers, charts and lists.

Managers, bookkeepers and admins see the whole shop (pos.reports.queries.dashboard); other roles get
the plain index (cashiers are sent to the checkout page before it, by config.urls).
"""

from django.urls import NoReverseMatch, reverse

from pos.core.permissions import can
from pos.reports import queries
from pos.reports.views import chart, fmt, table


def _link(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _change(data):
    change = data["change_percent"]
    if change is None:
        return "no sales on the same day last week"
    return f"{change:+.2f} % vs same time last {data['date']:%A} ({fmt(data['last_week']['net_sales'])})"


def shop_dashboard():
    data = queries.dashboard()
    today = data["today"]
    hours = data["by_hour"]
    shifts = [{**s, "report": _link("reports:shift", s["id"])} for s in data["open_shifts"]]
    return {
        "dashboard": data,
        "kpis": [
            {"label": "Net sales today", "value": fmt(today["net_sales"]), "note": _change(data)},
            {"label": "Sales today", "value": today["sales_count"],
             "note": f"{data['last_week']['sales_count']} at this time last week"},
            {"label": "Average basket", "value": fmt(today["average_basket"]), "note": f"Refunds {fmt(today['refunds'])}"},
            {"label": "Low-stock alerts", "value": data["low_stock_count"],
             "note": f"{data['payments_waiting_count']} payments waiting, {data['payments_failed_count']} failed today"},
        ],
        "hour_chart": chart([f"{r['hour']:%H}h" for r in hours],
                            ("Net sales", [r["net_sales"] for r in hours], "#2563eb")),
        "method_chart": chart([r["label"] for r in data["payments_by_method"]],
                              ("Collected", [r["amount"] for r in data["payments_by_method"]], "#16a34a")),
        "tables": [
            ("Top products today", table([("Product", "name", "text"), ("Quantity", "quantity", "quantity"),
                                          ("Net sales", "net_sales", "money")], data["top_products"])),
            ("Payments by method", table([("Method", "label", "text"), ("Payments", "payments", "integer"),
                                          ("Amount", "amount", "money"), ("Refunded", "refunds", "money")],
                                         data["payments_by_method"])),
            ("Low stock", table([("Product", "name", "text"), ("On hand", "stock_quantity", "quantity"),
                                 ("Reorder level", "reorder_level", "quantity")], data["low_stock"])),
            ("Payments waiting", table([("Receipt", "receipt_number", "text"), ("Method", "method", "text"),
                                        ("Amount", "amount", "money"), ("Since", "created_at", "datetime")],
                                       data["payments_waiting"])),
            ("Payments failed today", table([("Receipt", "receipt_number", "text"), ("Method", "method", "text"),
                                             ("Amount", "amount", "money"), ("At", "created_at", "datetime")],
                                            data["payments_failed"])),
        ],
        "open_shifts": shifts,
        "report_links": [(label, _link(name)) for label, name in (
            ("Sales report", "reports:sales"), ("Profit and loss", "reports:profit"),
            ("Inventory report", "reports:inventory"))],
    }


def dashboard_callback(request, context):
    """Numbers and charts for the admin index page (django-unfold DASHBOARD_CALLBACK)."""
    if can(request.user, "reports.view_reports"):
        context.update(shop_dashboard())
    return context
