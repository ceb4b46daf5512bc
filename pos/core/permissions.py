"""The one permission system: roles are Django groups of permissions (pos.accounts.roles), and every
check asks `has_perm` (services, API, admin, checkout, navigation, reports). What the admin's Groups
screen shows is what holds: take `reports.view_profit` from a group and its users lose the profit report.

Permissions beside the models' own add/change/delete/view:
- `accounts.all_cashiers`: see and handle every cashier's sales, shifts and payments (without it a
  user sees only their own: another cashier's sale is a 404, never a 403 or a 400).
- `accounts.any_discount`: give discounts beyond the cashier cap.
- `sales.use_checkout`, `sales.cancel_sale`, `sales.return_sale`, `payments.approve_refund`,
  `reports.view_reports`, `reports.view_profit`.
"""

from rest_framework import permissions

ALL_CASHIERS = "accounts.all_cashiers"
ANY_DISCOUNT = "accounts.any_discount"


def can(user, *perms) -> bool:
    """True when `user` is logged in, active and holds every one of `perms` (superusers hold all)."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perms(perms))


def can_any(user, *perms) -> bool:
    return any(can(user, perm) for perm in perms)


def sees_all_cashiers(user) -> bool:
    return can(user, ALL_CASHIERS)


def own_rows(queryset, user, field="cashier"):
    """`queryset` as `user` may see it: every cashier's rows with accounts.all_cashiers, else their own
    (nothing for an anonymous user, e.g. the OpenAPI generator's)."""
    if sees_all_cashiers(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{field: user})


def may_act_for(user, owner_id) -> bool:
    """May `user` act on a row that belongs to the cashier `owner_id`?"""
    return owner_id == getattr(user, "pk", None) or sees_all_cashiers(user)


def model_perms(model):
    name = f"{model._meta.app_label}.%s_{model._meta.model_name}"
    return {"read": name % "view", "create": name % "add", "destroy": name % "delete", "write": name % "change"}


class ActionPermissions(permissions.BasePermission):
    """DRF permission from the view's `required_perms`: {action or method name: permission or tuple of
    permissions (all needed), ...}. "read" is the default for safe methods, "write" for the others. An
    action with no entry (and no default) is refused: a new endpoint must say what it needs.

    A view without `required_perms` gets its model's permissions (from its queryset): reading needs
    view_<model>, `create` add_<model>, `destroy` delete_<model>, every other write change_<model>."""

    def has_permission(self, request, view):
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True  # no handler: DRF answers 405 Method Not Allowed
        needed = self.needed(request, view)
        return needed is not None and can(request.user, *needed)

    @staticmethod
    def needed(request, view):
        table = getattr(view, "required_perms", None)
        if table is None:
            table = model_perms(view.get_queryset().model)
        for key in (getattr(view, "action", None), request.method.lower(),
                    "read" if request.method in permissions.SAFE_METHODS else "write"):
            if key and key in table:
                value = table[key]
                return (value,) if isinstance(value, str) else tuple(value)
        return None


def discount_is_capped(user) -> bool:
    """A person without accounts.any_discount gives at most CASHIER_MAX_DISCOUNT_PERCENT (a system
    operation, user None, is not capped)."""
    return user is not None and not can(user, ANY_DISCOUNT)


def requires(*perms):
    """A DRF permission class needing every one of `perms` (for function views: `@permission_classes`)."""
    return type("Requires_" + "_".join(p.replace(".", "_") for p in perms), (permissions.BasePermission,),
                {"has_permission": lambda self, request, view: can(request.user, *perms)})

# The backend that answers has_perm (after django-axes' lockout backend): for `User.objects.with_perm`.
PERMISSION_BACKEND = "pos.accounts.backends.PermissionBackend"
