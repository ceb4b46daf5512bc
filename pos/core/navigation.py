"""The admin sidebar, grouped by role. Items a user may not use are hidden (unfold `permission`)."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from pos.core.api import has_role

GROUPS = [
    (_("Till"), ("admin", "manager", "cashier"), [
        (_("Checkout"), "point_of_sale", "checkout:page"),
        (_("Sales"), "receipt_long", "admin:sales_sale_changelist"),
        (_("Shifts"), "schedule", "admin:sales_shift_changelist"),
        (_("Returns"), "assignment_return", "admin:sales_salereturn_changelist"),
    ]),
    (_("Payments"), ("admin", "manager", "bookkeeper"), [
        (_("Payments"), "payments", "admin:payments_payment_changelist"),
        (_("Refunds"), "currency_exchange", "admin:payments_refund_changelist"),
        (_("Callback log"), "webhook", "admin:payments_paymentcallback_changelist"),
        (_("M-Pesa received (C2B)"), "phone_android", "admin:c2b_receivedpayment_changelist"),
        (_("C2B notices"), "sms", "admin:c2b_c2bnotification_changelist"),
        (_("M-Pesa reconciliation"), "rule", "admin:c2b_reconciliationrun_changelist"),
    ]),
    (_("Catalogue"), ("admin", "manager", "bookkeeper"), [
        (_("Products"), "inventory_2", "admin:catalog_product_changelist"),
        (_("Categories"), "category", "admin:catalog_category_changelist"),
    ]),
    (_("Till setup"), ("admin", "manager"), [
        (_("Quick keys"), "apps", "admin:catalog_quickkey_changelist"),
        (_("Scale labels"), "scale", "admin:catalog_scalebarcoderule_changelist"),
    ]),
    (_("Stock"), ("admin", "manager", "bookkeeper"), [
        (_("Movements"), "swap_vert", "admin:inventory_stockmovement_changelist"),
        (_("Low-stock alerts"), "warning", "admin:inventory_stockalert_changelist"),
        (_("Stock counts"), "fact_check", "admin:inventory_stockcount_changelist"),
        (_("Goods received"), "local_shipping", "admin:inventory_goodsreceipt_changelist"),
        (_("Suppliers"), "store", "admin:inventory_supplier_changelist"),
    ]),
    (_("Reports"), ("admin", "manager", "bookkeeper"), [
        (_("Dashboard"), "dashboard", "admin:index"),
        (_("Sales report"), "bar_chart", "reports:sales"),
        (_("Inventory report"), "warehouse", "reports:inventory"),
        (_("Profit and loss"), "trending_up", "reports:profit"),
        (_("Sales lines export (this month, Excel)"), "table_view", "reports-api:sales-lines-export"),
    ]),
    (_("Administration"), ("admin",), [
        (_("Users"), "people", "admin:accounts_user_changelist"),
        (_("Groups"), "group", "admin:auth_group_changelist"),
        (_("Scheduled tasks"), "event_repeat", "admin:django_q_schedule_changelist"),
    ]),
]


def _link(url_name):
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def sidebar_navigation(request):
    user = request.user
    groups = []
    for title, roles, items in GROUPS:
        allowed = has_role(user, *roles)
        links = [
            {"title": label, "icon": icon, "link": url, "permission": lambda request, ok=allowed: ok}
            for label, icon, name in items
            if (url := _link(name))
        ]
        if links and allowed:
            groups.append({"title": title, "separator": True, "collapsible": False, "items": links})
    return groups
