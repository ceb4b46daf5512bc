"""Cash in and cash out of a till's drawer during a shift (paid in / paid out), exported by pos.sales.services.

Each is recorded under the shift's row lock (the lock close_shift takes), so a movement is either in the
shift's Z report or refused because the shift closed first. A cash out above CASH_OUT_AUTHORISATION_LIMIT
needs a manager: one holding `sales.large_cash_out`, or a manager's PIN typed at the till (recorded as an
Authorisation).
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from pos.core.errors import ServiceError
from pos.core.money import to_money
from pos.core.permissions import can, may_act_for

LARGE_CASH_OUT = "sales.large_cash_out"


def _positive_amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceError(_("Enter an amount, e.g. 500.00."), field="amount", code="invalid_amount") from None
    if not amount.is_finite() or to_money(amount) <= 0:
        raise ServiceError(_("The amount must be greater than zero."), field="amount", code="invalid_amount")
    return to_money(amount)


@transaction.atomic
def record_cash_movement(shift, kind, amount, reason, *, user, authorised_by=None):
    """Record cash put into (`kind` "in") or taken out of ("out") the drawer of an open `shift`, with the
    reason said. Returns the CashMovement."""
    from pos.sales.models import Authorisation, CashMovement, CashMovementKind, OverrideAction, Shift, ShiftStatus
    from pos.sales.services import NotAllowed

    if kind not in CashMovementKind.values:
        raise ServiceError(_("Choose cash in or cash out."), field="kind", code="bad_kind")
    amount = _positive_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the cash goes in or out."), field="reason", code="required")
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.status != ShiftStatus.OPEN:
        raise ServiceError(_("Shift #%(shift)s is closed: its drawer takes no more cash in or out.") % {"shift": shift.pk},
                           field="shift",
                           code="shift_closed")
    if not may_act_for(user, shift.cashier_id):
        raise ServiceError(_("A cashier records cash in and out of their own drawer only."), field="shift",
                           code="not_allowed")
    manager = None
    if kind == CashMovementKind.OUT and amount > settings.CASH_OUT_AUTHORISATION_LIMIT:
        manager = user if can(user, LARGE_CASH_OUT) else authorised_by
        if not can(manager, LARGE_CASH_OUT):
            raise NotAllowed(_("A cash out above %(limit)s needs a manager: ask a manager to type their PIN.")
                            % {"limit": settings.CASH_OUT_AUTHORISATION_LIMIT}, field="manager_pin", code="not_allowed")
    movement = CashMovement.objects.create(shift=shift, kind=kind, amount=amount, reason=reason[:200],
                                           created_by=user, authorised_by=manager)
    if manager is not None and manager != user:
        Authorisation.objects.create(action=OverrideAction.CASH_OUT, cash_movement=movement, authorised_by=manager,
                                     requested_by=user, detail=f"Cash out of {amount}: {reason}"[:200])
    return movement
