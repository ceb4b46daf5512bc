"""Each role is a Django group with the permissions it needs.

The groups are created by a data migration and brought up to date after every `migrate`
(post_migrate), so permissions of models added later reach their roles too.
"""

from pos.accounts.models import Role

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
ALL = (VIEW, ADD, CHANGE, DELETE)

# role -> {app_label.model: actions}
ROLE_PERMISSIONS = {
    Role.MANAGER: {
        "catalog.category": ALL,
        "catalog.product": ALL,
        "catalog.quickkey": ALL,
        "catalog.scalebarcoderule": ALL,
        "inventory.stockmovement": (VIEW, ADD),
        "inventory.stockalert": (VIEW, CHANGE),
        "inventory.stockcount": ALL,
        "inventory.stockcountline": ALL,
        "inventory.supplier": ALL,
        "inventory.goodsreceipt": ALL,
        "inventory.goodsreceiptline": ALL,
        "sales.sale": (VIEW, ADD, CHANGE),
        "sales.saleitem": (VIEW,),
        "sales.shift": (VIEW, ADD, CHANGE),
        "sales.shifttotal": (VIEW,),
        "sales.salereturn": (VIEW, ADD),
        "sales.salereturnline": (VIEW,),
        "payments.payment": (VIEW, ADD, CHANGE),
        "payments.paymentcallback": (VIEW,),
        "payments.refund": (VIEW, ADD, CHANGE),
        "c2b.receivedpayment": (VIEW, CHANGE),
        "c2b.c2bnotification": (VIEW,),
        "c2b.reconciliationrun": (VIEW,),
        "tills.till": (VIEW, CHANGE),
        "tills.receiptblock": (VIEW,),
        "tills.offlinesale": (VIEW,),
        "tills.offlinempesacode": (VIEW,),
        "tills.refusedofflinesale": (VIEW, CHANGE),
        "accounts.user": (VIEW,),
        "fiscal.document": (VIEW,),
        "fiscal.fiscalitem": (VIEW, CHANGE),
        "fiscal.device": (VIEW,),
        "fiscal.call": (VIEW,),
    },
    Role.CASHIER: {
        "catalog.category": (VIEW,),
        "catalog.product": (VIEW,),
        "catalog.quickkey": (VIEW,),
        "sales.sale": (VIEW, ADD),
        "sales.saleitem": (VIEW,),
        "sales.shift": (VIEW, ADD),
        "payments.payment": (VIEW, ADD),
    },
    Role.BOOKKEEPER: {
        "catalog.category": (VIEW,),
        "catalog.product": (VIEW,),
        "inventory.stockmovement": (VIEW,),
        "inventory.stockalert": (VIEW,),
        "inventory.stockcount": (VIEW,),
        "inventory.goodsreceipt": (VIEW,),
        "inventory.supplier": (VIEW,),
        "sales.sale": (VIEW,),
        "sales.saleitem": (VIEW,),
        "sales.shift": (VIEW,),
        "sales.shifttotal": (VIEW,),
        "sales.salereturn": (VIEW,),
        "payments.payment": (VIEW,),
        "payments.paymentcallback": (VIEW,),
        "payments.refund": (VIEW,),
        "c2b.receivedpayment": (VIEW,),
        "c2b.reconciliationrun": (VIEW,),
        "tills.till": (VIEW,),
        "tills.offlinesale": (VIEW,),
        "fiscal.document": (VIEW,),
    },
}
# Custom permissions (declared in Meta.permissions of the models) per role.
ROLE_EXTRA = {
    Role.MANAGER: ["sales.cancel_sale", "sales.return_sale", "payments.approve_refund", "reports.view_reports",
                   "reports.view_profit", "c2b.match_receivedpayment", "tills.review_offlinesale",
                   "fiscal.resend_document", "fiscal.resend_item"],
    Role.CASHIER: ["sales.use_checkout"],
    Role.BOOKKEEPER: ["reports.view_reports", "reports.view_profit"],
}


def group_name(role):
    return Role(role).label


def sync_role_groups(apps=None):
    """Create or update one group per role with exactly its permissions. Idempotent."""
    from django.apps import apps as global_apps

    apps = apps or global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type")
    }
    for role in Role:
        group, _ = Group.objects.get_or_create(name=group_name(role))
        if role == Role.ADMIN:
            wanted = list(perms.values())
        else:
            wanted = []
            for model_label, actions in ROLE_PERMISSIONS.get(role, {}).items():
                app_label, model = model_label.split(".")
                wanted += [perms[(app_label, f"{a}_{model}")] for a in actions if (app_label, f"{a}_{model}") in perms]
            for dotted in ROLE_EXTRA.get(role, []):
                key = tuple(dotted.split("."))
                if key in perms:
                    wanted.append(perms[key])
        group.permissions.set(wanted)


def sync_role_groups_after_migrate(sender, **kwargs):
    """post_migrate is sent once per app, in INSTALLED_APPS order, and each app's permissions are
    created by its own signal: sync on the last app's, when every permission exists."""
    from django.apps import apps

    if sender is list(apps.get_app_configs())[-1]:
        sync_role_groups()
