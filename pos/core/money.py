"""The one rounding policy: money is rounded half-up to the cent, once, at the line."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
QTY = Decimal("0.001")
# The largest values the columns hold (MoneyField: 14 digits, 2 decimals; QuantityField: 14 digits, 3).
MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("99999999999.999")


def check_fits(value, field, *, limit=MAX_MONEY, what="amount"):
    """Refuse (400, nothing written) a computed amount the database column cannot hold."""
    from pos.core.errors import ServiceError

    if abs(Decimal(value)) > limit:
        from django.utils.translation import gettext

        raise ServiceError(gettext("The %(what)s %(value)s is larger than the shop can record (at most %(limit)s).")
                           % {"what": what, "value": value, "limit": limit},
                           field=field, code="too_large")
    return value


def to_money(value) -> Decimal:
    """Round a number to the cent, half-up (0.005 -> 0.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_quantity(value) -> Decimal:
    return Decimal(value).quantize(QTY, rounding=ROUND_HALF_UP)


def tax_included(gross: Decimal, rate_percent: Decimal) -> Decimal:
    """VAT contained in a VAT-inclusive amount: gross * rate / (100 + rate), rounded to the cent."""
    rate = Decimal(rate_percent)
    if rate == 0:
        return ZERO
    return to_money(Decimal(gross) * rate / (Decimal(100) + rate))


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` (cents) over `weights` proportionally; the parts add up exactly to `total`.

    Largest remainder method: each part is floored to the cent, the cents left over go to the
    parts with the largest remainders (ties: earlier first).
    """
    total = to_money(total)
    weight_sum = sum(weights, Decimal(0))
    if not weights:
        return []
    if weight_sum == 0 or total == 0:
        return [ZERO for _ in weights]
    cents = int(total * 100)
    raw = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(r) for r in raw]
    left = cents - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) / 100 for f in floors]
