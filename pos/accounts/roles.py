"""Each role is a Django group with the permissions it needs; every check asks `has_perm`
(pos.core.permissions), so the groups are the one source of truth.

The groups are created by a data migration with the defaults below. After every `migrate`
(post_migrate) a permission that did not exist before that migrate is given to the roles whose defaults
name it, so models added later reach their roles. A permission a person took away from a group in the
admin (Groups) stays taken away: only new permissions are added, nothing is removed.
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
        "sales.authorisation": (VIEW,),
        "sales.cashmovement": (VIEW, ADD),
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
        "sales.cashmovement": (VIEW, ADD),
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
        "sales.authorisation": (VIEW,),
        "sales.cashmovement": (VIEW,),
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
    Role.MANAGER: ["sales.use_checkout", "sales.cancel_sale", "sales.return_sale", "payments.approve_refund",
                   "sales.large_cash_out", "reports.view_reports", "reports.view_profit", "accounts.all_cashiers",
                   "accounts.any_discount", "c2b.match_receivedpayment", "tills.review_offlinesale", "fiscal.resend_document",
                   "fiscal.resend_item"],
    Role.CASHIER: ["sales.use_checkout"],
    Role.BOOKKEEPER: ["reports.view_reports", "reports.view_profit", "accounts.all_cashiers"],
}


def group_name(role):
    return Role(role).label


def default_permissions(role, perms):
    """The permissions `role` starts with, from `perms` ({(app_label, codename): permission})."""
    if role == Role.ADMIN:
        return list(perms.values())
    wanted = []
    for model_label, actions in ROLE_PERMISSIONS.get(role, {}).items():
        app_label, model = model_label.split(".")
        wanted += [perms[(app_label, f"{a}_{model}")] for a in actions if (app_label, f"{a}_{model}") in perms]
    wanted += [perms[key] for key in (tuple(d.split(".")) for d in ROLE_EXTRA.get(role, [])) if key in perms]
    return wanted


def sync_role_groups(apps=None, only=None):
    """Create the group of each role. A new group gets all its defaults; an existing one gets the defaults
    among `only` (permission ids new since the last sync); None: reset every group to its defaults."""
    from django.apps import apps as global_apps

    apps = apps or global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type")
    }
    for role in Role:
        group, created = Group.objects.get_or_create(name=group_name(role))
        wanted = default_permissions(role, perms)
        if created or only is None:
            group.permissions.set(wanted)
        else:
            group.permissions.add(*[p for p in wanted if p.pk in only])


_known_permissions = None


def remember_permissions_before_migrate(sender, **kwargs):
    """pre_migrate: note which permissions exist, so post_migrate can tell the new ones."""
    global _known_permissions
    from django.apps import apps
    from django.contrib.auth.models import Permission
    from django.db import DatabaseError

    if sender is list(apps.get_app_configs())[0]:
        try:
            _known_permissions = set(Permission.objects.values_list("pk", flat=True))
        except DatabaseError:  # the first migrate: no table yet
            _known_permissions = set()


def sync_role_groups_after_migrate(sender, **kwargs):
    """post_migrate is sent once per app, in INSTALLED_APPS order, and each app's permissions are
    created by its own signal: sync on the last app's, when every permission exists."""
    from django.apps import apps
    from django.contrib.auth.models import Permission

    if sender is list(apps.get_app_configs())[-1]:
        new = set(Permission.objects.values_list("pk", flat=True)) - (_known_permissions or set())
        sync_role_groups(only=new)
