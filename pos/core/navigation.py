"""The admin sidebar, grouped by role. Items a user may not use are hidden (unfold `permission`)."""

from django.urls import NoReverseMatch, reverse

from pos.core.api import has_role

GROUPS = [
    ("Till", ("admin", "manager", "cashier"), [
        ("Checkout", "point_of_sale", "checkout:page"),
        ("Sales", "receipt_long", "admin:sales_sale_changelist"),
        ("Shifts", "schedule", "admin:sales_shift_changelist"),
        # a cashier takes returns at the till (F10, with a manager's PIN), not in the back office
        ("Returns", "assignment_return", "admin:sales_salereturn_changelist", "sales.view_salereturn"),
    ]),
    ("Payments", ("admin", "manager", "bookkeeper"), [
        ("Payments", "payments", "admin:payments_payment_changelist"),
        ("Refunds", "currency_exchange", "admin:payments_refund_changelist"),
        ("Callback log", "webhook", "admin:payments_paymentcallback_changelist"),
        ("M-Pesa received (C2B)", "phone_android", "admin:c2b_receivedpayment_changelist"),
        ("C2B notices", "sms", "admin:c2b_c2bnotification_changelist"),
        ("M-Pesa reconciliation", "rule", "admin:c2b_reconciliationrun_changelist"),
    ]),
    ("Catalogue", ("admin", "manager", "bookkeeper"), [
        ("Products", "inventory_2", "admin:catalog_product_changelist"),
        ("Categories", "category", "admin:catalog_category_changelist"),
    ]),
    ("Till setup", ("admin", "manager"), [
        ("Quick keys", "apps", "admin:catalog_quickkey_changelist"),
        ("Scale labels", "scale", "admin:catalog_scalebarcoderule_changelist"),
    ]),
    ("Stock", ("admin", "manager", "bookkeeper"), [
        ("Movements", "swap_vert", "admin:inventory_stockmovement_changelist"),
        ("Low-stock alerts", "warning", "admin:inventory_stockalert_changelist"),
        ("Stock counts", "fact_check", "admin:inventory_stockcount_changelist"),
        ("Goods received", "local_shipping", "admin:inventory_goodsreceipt_changelist"),
        ("Suppliers", "store", "admin:inventory_supplier_changelist"),
    ]),
    ("Reports", ("admin", "manager", "bookkeeper"), [
        ("Dashboard", "dashboard", "admin:index"),
        ("Sales report", "bar_chart", "reports:sales"),
        ("Inventory report", "warehouse", "reports:inventory"),
        ("Profit and loss", "trending_up", "reports:profit"),
        ("Sales lines export (this month, Excel)", "table_view", "reports-api:sales-lines-export"),
    ]),
    ("Administration", ("admin",), [
        ("Users", "people", "admin:accounts_user_changelist"),
        ("Groups", "group", "admin:auth_group_changelist"),
        ("Scheduled tasks", "event_repeat", "admin:django_q_schedule_changelist"),
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
            for label, icon, name, *perm in items
            if (not perm or user.has_perm(perm[0])) and (url := _link(name))
        ]
        if links and allowed:
            groups.append({"title": title, "separator": True, "collapsible": False, "items": links})
    return groups
