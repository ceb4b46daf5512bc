"""eTIMS items: each product's item code and classification, and its registration (saveItem).

itemCd = origin (2) + item type (1) + packaging unit (2) + quantity unit (2) + a 7-digit sequence per
PIN, e.g. KE2NTU0000012. The tax type follows the product's VAT rate: 16 % -> B, 8 % -> E, 0 % -> the
item's choice (A exempt, C zero-rated, D non-VAT). Items are never deleted at KRA: an inactive product
is sent with useYn = "N".
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from pos.catalog.models import Product, Unit
from pos.core.errors import ServiceError
from pos.core.idempotency import fingerprint
from pos.fiscal.models import FiscalItem, ItemSequence, ItemStatus, TaxChoice
from pos.fiscal.services.transport import KraError, TransportError, transport

# KRA quantity unit codes (code class 10) for our units.
QUANTITY_UNITS = {Unit.PIECE: "U", Unit.KILOGRAM: "KG", Unit.GRAM: "GRM", Unit.LITRE: "LTR", Unit.METRE: "MTR",
                  Unit.PACK: "PA"}
TAX_RATES = {"A": Decimal("0"), "B": Decimal("16"), "C": Decimal("0"), "D": Decimal("0"), "E": Decimal("8")}
REGISTRAR = "duka-pos"


def tax_type(rate, zero_rate_as=TaxChoice.EXEMPT) -> str:
    """The eTIMS tax letter of a VAT rate (percent)."""
    rate = Decimal(rate)
    if rate == 16:
        return "B"
    if rate == 8:
        return "E"
    if rate == 0:
        return zero_rate_as or TaxChoice.EXEMPT
    raise ServiceError(f"A VAT rate of {rate.normalize():f}% has no eTIMS tax type (16, 8 or 0 %).",
                       field="tax_rate", code="unsupported_rate")


def next_item_code(pin, origin, item_type, packaging_unit, quantity_unit) -> str:
    """The next item code of `pin`: the sequence row is locked and moves in the caller's transaction."""
    ItemSequence.objects.get_or_create(pin=pin)
    seq = ItemSequence.objects.select_for_update().get(pin=pin)
    seq.last_number = F("last_number") + 1
    seq.save(update_fields=["last_number"])
    seq.refresh_from_db(fields=["last_number"])
    return f"{origin}{item_type}{packaging_unit}{quantity_unit}{seq.last_number:07d}"


@transaction.atomic
def fiscal_item_for(product, device) -> FiscalItem:
    """The product's eTIMS item, created (code generated, pending registration) the first time."""
    existing = FiscalItem.objects.filter(product=product).first()
    if existing:
        return existing
    Product.objects.select_for_update().filter(pk=product.pk).first()  # one creator per product
    existing = FiscalItem.objects.filter(product=product).first()
    if existing:
        return existing
    item = FiscalItem(product=product, pin=device.pin, item_class=settings.ETIMS_DEFAULT_ITEM_CLASS,
                      quantity_unit=QUANTITY_UNITS.get(product.unit, "U"))
    item.item_code = next_item_code(device.pin, item.origin, item.item_type, item.packaging_unit,
                                    item.quantity_unit)
    item.save()
    return item


def item_payload(item, product) -> dict:
    return {
        "itemCd": item.item_code, "itemClsCd": item.item_class, "itemTyCd": item.item_type,
        "itemNm": product.name[:200], "itemStdNm": None, "orgnNatCd": item.origin,
        "pkgUnitCd": item.packaging_unit, "qtyUnitCd": item.quantity_unit,
        "taxTyCd": tax_type(product.tax_rate, item.zero_rate_as), "btchNo": None, "bcd": product.barcode or None,
        "dftPrc": float(product.price), "grpPrcL1": None, "addInfo": None, "sftyQty": None,
        "isrcAplcbYn": "N", "useYn": "Y" if product.is_active else "N",
        "regrId": REGISTRAR, "regrNm": REGISTRAR, "modrId": REGISTRAR, "modrNm": REGISTRAR,
    }


def item_is_current(item, product) -> bool:
    """Registered with what the product says now."""
    try:
        payload = item_payload(item, product)
    except ServiceError:
        return False
    return item.status == ItemStatus.REGISTERED and item.registered_fingerprint == fingerprint(payload)


def register_item(item, device, now=None) -> FiscalItem:
    """Send the item to KRA (saveItem). Registered: status registered. Refused: status rejected with KRA's
    message (its documents wait, visibly). No answer: TransportError (the caller retries later)."""
    now = now or timezone.now()
    product = item.product
    try:
        payload = item_payload(item, product)
    except ServiceError as exc:
        return _reject(item, "local", exc.message)
    item.tax_type = payload["taxTyCd"]
    item.attempts += 1
    try:
        transport().post(device, "saveItem", payload, item=item)
    except KraError as exc:
        return _reject(item, exc.code, exc.message)
    except TransportError:
        item.next_attempt_at = now + backoff(item.attempts)
        item.save(update_fields=["attempts", "next_attempt_at", "tax_type", "updated_at"])
        raise
    item.status = ItemStatus.REGISTERED
    item.registered_fingerprint = fingerprint(payload)
    item.registered_at = now
    item.result_code, item.result_message, item.next_attempt_at = "000", "", None
    item.save()
    return item


def _reject(item, code, message):
    item.status = ItemStatus.REJECTED
    item.result_code, item.result_message = code[:10], message[:300]
    item.next_attempt_at = None
    item.save()
    return item


def backoff(attempts) -> timedelta:
    """30 s, 1 min, 2 min ... at most ETIMS_RETRY_MAX_SECONDS between tries."""
    seconds = settings.ETIMS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.ETIMS_RETRY_MAX_SECONDS))


def resend_item(item, *, user=None) -> FiscalItem:
    """A manager fixed the item (class, units, tax choice) or the product: register it again."""
    item.status = ItemStatus.PENDING
    item.registered_fingerprint = ""
    item.attempts, item.next_attempt_at = 0, None
    item.save()
    return item


def products_to_register():
    """Products with no eTIMS item yet, changed since their registration, or waiting to register."""
    return (Product.objects.filter(Q(fiscal_item__isnull=True)
                                   | Q(fiscal_item__status=ItemStatus.PENDING)
                                   | Q(fiscal_item__status=ItemStatus.REGISTERED,
                                       updated_at__gt=F("fiscal_item__registered_at"))
                                   | Q(fiscal_item__status=ItemStatus.REJECTED,
                                       updated_at__gt=F("fiscal_item__updated_at")))
            .select_related("fiscal_item").order_by("pk"))


def register_changed_items(device, now=None, limit=500) -> dict:
    """The sweep: register new and changed products (a rejected item waits for a manager's resend)."""
    now = now or timezone.now()
    device.refresh_from_db()
    done = {"registered": 0, "rejected": 0, "unchanged": 0, "waiting": 0}
    for product in products_to_register()[:limit]:
        try:
            item = fiscal_item_for(product, device)
        except IntegrityError:
            continue
        if item.next_attempt_at and item.next_attempt_at > now:
            done["waiting"] += 1
            continue
        if item_is_current(item, product):
            FiscalItem.objects.filter(pk=item.pk).update(registered_at=now)
            done["unchanged"] += 1
            continue
        if item.status != ItemStatus.PENDING:  # changed since registered, or since KRA refused it
            item.status = ItemStatus.PENDING
        try:
            item = register_item(item, device, now)
        except TransportError:
            done["waiting"] += 1
            break
        done["registered" if item.status == ItemStatus.REGISTERED else "rejected"] += 1
    return done
