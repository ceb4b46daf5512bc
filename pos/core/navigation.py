"""The admin sidebar. Each item shows only to users who hold its permission (unfold `permission`,
asked with has_perm: pos.core.permissions); a group without a visible item is left out."""

from django.urls import NoReverseMatch, reverse

from pos.core.permissions import can_any

GROUPS = [
    ("Till", [
        ("Checkout", "point_of_sale", "checkout:page", ("sales.use_checkout",)),
        ("Sales", "receipt_long", "admin:sales_sale_changelist", ("sales.view_sale",)),
        ("Shifts", "schedule", "admin:sales_shift_changelist", ("sales.view_shift",)),
        ("Returns", "assignment_return", "admin:sales_salereturn_changelist", ("sales.view_salereturn",)),
    ]),
    ("Payments", [
        ("Payments", "payments", "admin:payments_payment_changelist", ("payments.view_payment",)),
        ("Refunds", "currency_exchange", "admin:payments_refund_changelist", ("payments.view_refund",)),
        ("Callback log", "webhook", "admin:payments_paymentcallback_changelist", ("payments.view_paymentcallback",)),
        ("M-Pesa received (C2B)", "phone_android", "admin:c2b_receivedpayment_changelist",
         ("c2b.view_receivedpayment",)),
        ("C2B notices", "sms", "admin:c2b_c2bnotification_changelist", ("c2b.view_c2bnotification",)),
        ("M-Pesa reconciliation", "rule", "admin:c2b_reconciliationrun_changelist", ("c2b.view_reconciliationrun",)),
    ]),
    ("Catalogue", [
        ("Products", "inventory_2", "admin:catalog_product_changelist", ("catalog.view_product",)),
        ("Categories", "category", "admin:catalog_category_changelist", ("catalog.view_category",)),
    ]),
    ("Till setup", [
        ("Quick keys", "apps", "admin:catalog_quickkey_changelist", ("catalog.view_quickkey",)),
        ("Scale labels", "scale", "admin:catalog_scalebarcoderule_changelist", ("catalog.view_scalebarcoderule",)),
    ]),
    ("Stock", [
        ("Movements", "swap_vert", "admin:inventory_stockmovement_changelist", ("inventory.view_stockmovement",)),
        ("Low-stock alerts", "warning", "admin:inventory_stockalert_changelist", ("inventory.view_stockalert",)),
        ("Stock counts", "fact_check", "admin:inventory_stockcount_changelist", ("inventory.view_stockcount",)),
        ("Goods received", "local_shipping", "admin:inventory_goodsreceipt_changelist",
         ("inventory.view_goodsreceipt",)),
        ("Suppliers", "store", "admin:inventory_supplier_changelist", ("inventory.view_supplier",)),
    ]),
    ("Reports", [
        ("Dashboard", "dashboard", "admin:index", ("reports.view_reports",)),
        ("Sales report", "bar_chart", "reports:sales", ("reports.view_reports",)),
        ("Inventory report", "warehouse", "reports:inventory", ("reports.view_reports",)),
        ("Profit and loss", "trending_up", "reports:profit", ("reports.view_profit",)),
        ("Sales lines export (this month, Excel)", "table_view", "reports-api:sales-lines-export",
         ("reports.view_reports", "reports.view_profit")),
    ]),
    ("Administration", [
        ("Users", "people", "admin:accounts_user_changelist", ("accounts.view_user",)),
        ("Groups", "group", "admin:auth_group_changelist", ("auth.view_group",)),
        ("Scheduled tasks", "event_repeat", "admin:django_q_schedule_changelist", ("django_q.view_schedule",)),
    ]),
]


def _link(url_name):
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def _allowed(perms):
    return lambda request: can_any(request.user, *perms)


def sidebar_navigation(request):
    groups = []
    for title, items in GROUPS:
        links = [
            {"title": label, "icon": icon, "link": url, "permission": _allowed(perms)}
            for label, icon, name, perms in items
            if (url := _link(name)) and can_any(request.user, *perms)
        ]
        if links:
            groups.append({"title": title, "separator": True, "collapsible": False, "items": links})
    return groups
