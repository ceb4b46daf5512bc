"""The admin sidebar. Each item shows only to users who hold its permission (unfold `permission`,
asked with has_perm: pos.core.permissions); a group without a visible item is left out."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from pos.core.permissions import can_any

GROUPS = [
    (_("Till"), [
        (_("Checkout"), "point_of_sale", "checkout:page", ("sales.use_checkout",)),
        (_("Sales"), "receipt_long", "admin:sales_sale_changelist", ("sales.view_sale",)),
        (_("Shifts"), "schedule", "admin:sales_shift_changelist", ("sales.view_shift",)),
        (_("Returns"), "assignment_return", "admin:sales_salereturn_changelist", ("sales.view_salereturn",)),
    ]),
    (_("Payments"), [
        (_("Payments"), "payments", "admin:payments_payment_changelist", ("payments.view_payment",)),
        (_("Refunds"), "currency_exchange", "admin:payments_refund_changelist", ("payments.view_refund",)),
        (_("Callback log"), "webhook", "admin:payments_paymentcallback_changelist", ("payments.view_paymentcallback",)),
        (_("M-Pesa received (C2B)"), "phone_android", "admin:c2b_receivedpayment_changelist",
         ("c2b.view_receivedpayment",)),
        (_("C2B notices"), "sms", "admin:c2b_c2bnotification_changelist", ("c2b.view_c2bnotification",)),
        (_("M-Pesa reconciliation"), "rule", "admin:c2b_reconciliationrun_changelist", ("c2b.view_reconciliationrun",)),
    ]),
    (_("KRA eTIMS"), [
        (_("eTIMS queue"), "verified", "admin:fiscal_document_changelist", ("fiscal.view_document",)),
        (_("eTIMS items"), "qr_code_2", "admin:fiscal_fiscalitem_changelist", ("fiscal.view_fiscalitem",)),
        (_("eTIMS device"), "developer_board", "admin:fiscal_device_changelist", ("fiscal.view_device",)),
        (_("eTIMS call log"), "history", "admin:fiscal_call_changelist", ("fiscal.view_call",)),
    ]),
    (_("Catalogue"), [
        (_("Products"), "inventory_2", "admin:catalog_product_changelist", ("catalog.view_product",)),
        (_("Categories"), "category", "admin:catalog_category_changelist", ("catalog.view_category",)),
    ]),
    (_("Till setup"), [
        (_("Quick keys"), "apps", "admin:catalog_quickkey_changelist", ("catalog.view_quickkey",)),
        (_("Scale labels"), "scale", "admin:catalog_scalebarcoderule_changelist", ("catalog.view_scalebarcoderule",)),
    ]),
    (_("Stock"), [
        (_("Movements"), "swap_vert", "admin:inventory_stockmovement_changelist", ("inventory.view_stockmovement",)),
        (_("Low-stock alerts"), "warning", "admin:inventory_stockalert_changelist", ("inventory.view_stockalert",)),
        (_("Stock counts"), "fact_check", "admin:inventory_stockcount_changelist", ("inventory.view_stockcount",)),
        (_("Goods received"), "local_shipping", "admin:inventory_goodsreceipt_changelist",
         ("inventory.view_goodsreceipt",)),
        (_("Suppliers"), "store", "admin:inventory_supplier_changelist", ("inventory.view_supplier",)),
    ]),
    (_("Reports"), [
        (_("Dashboard"), "dashboard", "admin:index", ("reports.view_reports",)),
        (_("Sales report"), "bar_chart", "reports:sales", ("reports.view_reports",)),
        (_("Inventory report"), "warehouse", "reports:inventory", ("reports.view_reports",)),
        (_("Profit and loss"), "trending_up", "reports:profit", ("reports.view_profit",)),
        (_("Sales lines export (this month, Excel)"), "table_view", "reports-api:sales-lines-export",
         ("reports.view_reports", "reports.view_profit")),
    ]),
    (_("Administration"), [
        (_("Users"), "people", "admin:accounts_user_changelist", ("accounts.view_user",)),
        (_("Groups"), "group", "admin:auth_group_changelist", ("auth.view_group",)),
        (_("Scheduled tasks"), "event_repeat", "admin:django_q_schedule_changelist", ("django_q.view_schedule",)),
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
