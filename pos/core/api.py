"""Shared API pieces: the error handler, role permissions, the idempotency key header."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pos.core.errors import ServiceError


def exception_handler(exc, context):
    """ServiceError -> 400/409 with field messages; Django ValidationError -> 400."""
    if isinstance(exc, ServiceError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=400)
    return drf_exception_handler(exc, context)


def has_role(user, *roles):
    return bool(user and user.is_authenticated and (user.is_superuser or user.role in roles))


class RolePermission(permissions.BasePermission):
    """Allow the listed roles. `read_roles` may only use safe methods."""

    roles: tuple = ()
    read_roles: tuple = ()

    def has_permission(self, request, view):
        if has_role(request.user, *self.roles):
            return True
        return request.method in permissions.SAFE_METHODS and has_role(request.user, *self.read_roles)


def role_permission(*roles, read=()):
    """Build a permission class: `role_permission("manager", read=("cashier",))`; admin always passes."""
    return type(
        "RolePermission_" + "_".join(roles),
        (RolePermission,),
        {"roles": ("admin", *roles), "read_roles": tuple(read)},
    )


def idempotency_key(request):
    """The client's `Idempotency-Key` header, stripped; '' when absent. Longer than 100 chars is refused."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > 100:
        raise serializers.ValidationError({"Idempotency-Key": ["At most 100 characters."]})
    return key
