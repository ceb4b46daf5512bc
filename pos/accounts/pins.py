"""Manager PINs: a manager (or admin) authorises, at a cashier's till, what the cashier may not do alone
(a discount beyond the cap, a return, a void of a paid sale, a refund). The cashier stays logged in.

- A PIN is 4 to 8 digits, set by its owner (who proves it is them with their password), hashed with
  Django's password hashers; it is never stored or logged in clear.
- Wrong PINs: after MANAGER_PIN_MAX_FAILURES in a row the manager's PIN locks for
  MANAGER_PIN_LOCK_SECONDS; and a till (the cashier logged in) that typed that many wrong PINs within
  MANAGER_PIN_LOCK_SECONDS is refused for a while, whichever manager it names (no guessing across names).
- `authorise()` answers the manager; the caller records the Authorisation on the sale or return.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from pos.accounts.models import ManagerPin, PinAttempt, User
from pos.core.errors import ServiceError
from pos.core.permissions import ANY_DISCOUNT, can_any

# Who may authorise at a till (each action then asks for its own permission of the manager).
AUTHORISERS = (ANY_DISCOUNT, "sales.return_sale", "payments.approve_refund")

PIN_FORMAT = re.compile(r"^\d{4,8}$")
WRONG = gettext_lazy("Wrong manager or PIN.")


def set_pin(user, *, password, pin) -> ManagerPin:
    """The user sets (or changes) their own PIN, proving who they are with their password."""
    if not can_any(user, *AUTHORISERS):
        raise ServiceError(gettext("Only managers and admins have a PIN."), field="pin", code="not_allowed")
    if not user.check_password(password or ""):
        raise ServiceError(gettext("Your password is not right."), field="password", code="wrong_password")
    pin = str(pin or "")
    if not PIN_FORMAT.match(pin):
        raise ServiceError(gettext("A PIN is 4 to 8 digits."), field="pin", code="bad_pin")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise ServiceError(gettext("Choose a PIN that is not a run or a repeat of one digit."), field="pin",
                           code="weak_pin")
    record, _ = ManagerPin.objects.update_or_create(
        user=user, defaults={"pin_hash": make_password(pin), "failures": 0, "locked_until": None})
    return record


def has_pin(user) -> bool:
    return ManagerPin.objects.filter(user=user).exists()


def _till_blocked(requested_by, now) -> bool:
    since = now - timedelta(seconds=settings.MANAGER_PIN_LOCK_SECONDS)
    recent = list(PinAttempt.objects.filter(requested_by=requested_by, at__gte=since)
                  .order_by("-at").values_list("ok", flat=True)[:settings.MANAGER_PIN_MAX_FAILURES])
    return len(recent) >= settings.MANAGER_PIN_MAX_FAILURES and not any(recent)


def authorise(*, username, pin, requested_by, action="") -> User:
    """The manager whose `username` and `pin` were typed at `requested_by`'s till, or a ServiceError
    (code "bad_pin", or "pin_locked" while locked). Every try is recorded (PinAttempt)."""
    now = timezone.now()
    if _till_blocked(requested_by, now):
        raise ServiceError(gettext("Too many wrong PINs at this till: wait a few minutes, then try again."),
                           field="manager_pin", code="pin_locked")
    with transaction.atomic():
        manager = User.objects.filter(username=(username or "").strip(), is_active=True).first()
        record = (ManagerPin.objects.select_for_update().filter(user=manager).first()
                  if manager is not None and can_any(manager, *AUTHORISERS) else None)
        if record is not None and record.locked_until and record.locked_until > now:
            PinAttempt.objects.create(requested_by=requested_by, manager=manager, ok=False, action=action)
            raise ServiceError(gettext("%(manager)s's PIN is locked after wrong tries: try again later or use "
                                       "another manager.") % {"manager": manager.username}, field="manager_pin",
                               code="pin_locked")
        ok = record is not None and check_password(str(pin or ""), record.pin_hash)
        PinAttempt.objects.create(requested_by=requested_by, manager=manager, ok=ok, action=action)
        if record is not None:
            record.failures = 0 if ok else record.failures + 1
            if record.failures >= settings.MANAGER_PIN_MAX_FAILURES:
                record.locked_until = now + timedelta(seconds=settings.MANAGER_PIN_LOCK_SECONDS)
                record.failures = 0
            record.save(update_fields=["failures", "locked_until", "updated_at"])
    if not ok:
        raise ServiceError(str(WRONG), field="manager_pin", code="bad_pin")
    return manager
