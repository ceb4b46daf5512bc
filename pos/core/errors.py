"""Errors raised by services. The API turns them into HTTP 400/409 with field messages; the admin
shows them as form or message errors. Messages are translated (gettext) where they are raised: a cashier reads
them in their language."""

from django.utils.translation import gettext


class ServiceError(Exception):
    """A business rule refused the operation. Nothing was written.

    `code` is a stable machine-readable string; `field` names the input at fault (or None).
    """

    status_code = 400

    def __init__(self, message, *, code="invalid", field=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def as_dict(self):
        """{field: [message], "code": code}. A field named `code` (the M-Pesa code typed at the till) would
        lose its message under the machine-readable code: its message is the answer's `detail`."""
        key = self.field if self.field and self.field != "code" else "detail"
        return {key: [self.message], "code": self.code}


class ConflictError(ServiceError):
    """The request conflicts with the current state (e.g. an idempotency key reused with another body)."""

    status_code = 409


class InsufficientStock(ServiceError):
    def __init__(self, product, requested, available):
        super().__init__(
            gettext("Not enough stock for %(name)s: %(available)s available, %(requested)s requested.")
            % {"name": product.name, "available": available, "requested": requested},
            code="insufficient_stock",
            field="items",
        )
        self.product = product
        self.requested = requested
        self.available = available


class IllegalTransition(ServiceError):
    def __init__(self, obj, current, target):
        super().__init__(
            gettext("%(kind)s %(id)s cannot go from %(current)s to %(target)s.")
            % {"kind": obj.__class__.__name__, "id": obj.pk, "current": current, "target": target},
            code="illegal_transition",
            field="status",
        )
