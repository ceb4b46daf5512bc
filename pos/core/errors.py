"""Errors raised by services. The API turns them into HTTP 400/409 with field messages; the admin
shows them as form or message errors."""


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
        key = self.field or "detail"
        return {key: [self.message], "code": self.code}


class ConflictError(ServiceError):
    """The request conflicts with the current state (e.g. an idempotency key reused with another body)."""

    status_code = 409


class InsufficientStock(ServiceError):
    def __init__(self, product, requested, available):
        super().__init__(
            f"Not enough stock for {product.name}: {available} available, {requested} requested.",
            code="insufficient_stock",
            field="items",
        )
        self.product = product
        self.requested = requested
        self.available = available


class IllegalTransition(ServiceError):
    def __init__(self, obj, current, target):
        super().__init__(
            f"{obj.__class__.__name__} {obj.pk} cannot go from {current} to {target}.",
            code="illegal_transition",
            field="status",
        )
