"""Shared API pieces: the error handler and the idempotency key header (permissions: pos.core.permissions)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
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


def idempotency_key(request):
    """The client's `Idempotency-Key` header, stripped; '' when absent. Longer than 100 chars is refused."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > 100:
        raise serializers.ValidationError({"Idempotency-Key": ["At most 100 characters."]})
    return key
