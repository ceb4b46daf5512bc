"""Catalogue operations: the only way categories and products are created, changed or removed.

Stock is not part of the catalogue: `Product.stock_quantity` is written by pos.inventory.services only.
Saving a product here never touches that column (updates list their fields), so a price edit can never
overwrite a sale that happened meanwhile.

Deleting a product that has history (stock movements, sales, counts, goods received) is refused with a
ServiceError that says to deactivate it instead: history must keep pointing at the product, and an
inactive product disappears from the till and the barcode lookup.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from pos.catalog import lookup
from pos.catalog.barcodes import clean_barcode
from pos.catalog.models import Category, Product, QuickKey
from pos.catalog.scale import (  # noqa: F401
    Scan,
    check_rule,
    lookup_barcode,
    lookup_scale_label,
    normalise_plu,
    read_label,
)
from pos.catalog.search import rank_search, search_products  # noqa: F401  (services is the import point)
from pos.core.errors import ServiceError
from pos.core.money import to_money, to_quantity

PRODUCT_FIELDS = ["name", "sku", "barcode", "plu", "category", "price", "cost_price", "tax_rate", "unit",
                  "reorder_level", "image", "is_active"]
CATEGORY_FIELDS = ["name", "parent", "is_active"]
BULK_BATCH_SIZE = 1000


def _raise_first(exc: ValidationError):
    """Turn a model ValidationError into a ServiceError naming the first field at fault."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        raise ServiceError(" ".join(errors), field=None if field == "__all__" else field) from exc
    raise ServiceError(" ".join(exc.messages)) from exc


def _set_fields(obj, allowed, fields):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ServiceError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.",
                           code="read_only")
    for name, value in fields.items():
        setattr(obj, name, value)


# --- categories -----------------------------------------------------------------------------------

def save_category(category, *, user=None):
    """Validate and save a (new or changed) category. A category may not be its own ancestor."""
    category.name = (category.name or "").strip()
    if Category.objects.filter(name__iexact=category.name).exclude(pk=category.pk).exists():
        raise ServiceError(f"A category named {category.name} already exists.", field="name", code="duplicate")
    ancestor = category.parent
    while ancestor is not None:
        if category.pk and ancestor.pk == category.pk:
            raise ServiceError("A category cannot be inside itself.", field="parent", code="cycle")
        ancestor = ancestor.parent
    try:
        category.full_clean()
    except ValidationError as exc:
        _raise_first(exc)
    category._history_user = user
    with transaction.atomic():
        category.save()
        lookup.categories_changed()
    return category


def create_category(*, name, parent=None, is_active=True, user=None):
    return save_category(Category(name=name, parent=parent, is_active=is_active), user=user)


def update_category(category, *, user=None, **fields):
    _set_fields(category, CATEGORY_FIELDS, fields)
    return save_category(category, user=user)


# --- products -------------------------------------------------------------------------------------

def normalise_product(product):
    """Trim the SKU and name, normalise the barcode (ServiceError on a wrong check digit), round money to
    the cent and the reorder level to the quantity's places."""
    product.sku = (product.sku or "").strip()
    product.name = (product.name or "").strip()
    for name in ("price", "cost_price"):
        if getattr(product, name) is not None:
            setattr(product, name, to_money(getattr(product, name)))
    if product.reorder_level is not None:
        product.reorder_level = to_quantity(product.reorder_level)
    product.barcode = clean_barcode(product.barcode)
    product.plu = normalise_plu(product.plu)


def save_product(product, *, user=None):
    """Validate and save a new or changed product (the API and the admin; the import uses save_products).

    Money is rounded to the cent, the barcode is normalised and its check digit verified; a new product
    starts with zero stock, an existing one never has its stock column written.
    """
    normalise_product(product)
    try:
        # The database check constraints (price, cost >= 0) repeat the field validators: not queried again.
        product.full_clean(exclude=["stock_quantity"], validate_constraints=False)
    except ValidationError as exc:
        _raise_first(exc)
    product._history_user = user
    try:
        with transaction.atomic():
            if product._state.adding:
                product.stock_quantity = 0
                product.save(force_insert=True)
            else:
                product.save(update_fields=PRODUCT_FIELDS + ["updated_at"])
                lookup.products_changed([product.pk])
    except IntegrityError as exc:  # another request took the SKU or barcode between our check and the insert
        raise ServiceError("Another product with this SKU or barcode was saved at the same time.",
                           code="duplicate") from exc
    return product


def check_product(product, *, exclude=()):
    """Normalise a product and return its field errors ({field: [message, ...]}, empty when fine) without
    a query: for a caller that checks many products at once (the spreadsheet import) and answers SKU and
    barcode uniqueness from its own lookups. A category given as a saved Category is not looked up again.
    The database's unique, foreign key and check constraints stay the last guard (see save_products).
    """
    errors = {}
    try:
        normalise_product(product)
    except ServiceError as exc:
        errors[exc.field or "__all__"] = [exc.message]
    skip = {*exclude, *errors, "stock_quantity"}
    if Product.category.is_cached(product) and product.category_id is not None:
        skip.add("category")
    try:
        product.full_clean(exclude=skip, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    return errors


def save_products(products, *, user=None):
    """Save many products that passed check_product, in one transaction and a few queries (the import).

    New products are inserted with zero stock, changed ones have their catalogue fields updated (never the
    stock column); each gets its history record with `user`, as save_product gives it. A SKU or barcode
    taken meanwhile by another request is a ServiceError and nothing is written.
    """
    new = [product for product in products if product._state.adding]
    changed = [product for product in products if not product._state.adding]
    now = timezone.now()
    for product in new:
        product.stock_quantity = 0
    for product in changed:
        product.updated_at = now
    try:
        with transaction.atomic():
            if new:
                bulk_create_with_history(new, Product, batch_size=BULK_BATCH_SIZE, default_user=user,
                                         default_date=now)
            if changed:
                bulk_update_with_history(changed, Product, PRODUCT_FIELDS + ["updated_at"],
                                         batch_size=BULK_BATCH_SIZE, default_user=user, default_date=now)
                lookup.products_changed([product.pk for product in changed])
    except IntegrityError as exc:
        raise ServiceError("Another product with this SKU or barcode was saved at the same time.",
                           code="duplicate") from exc
    return products


def create_product(*, user=None, **fields):
    product = Product()
    _set_fields(product, PRODUCT_FIELDS, fields)
    return save_product(product, user=user)


def update_product(product, *, user=None, **fields):
    _set_fields(product, PRODUCT_FIELDS, fields)
    return save_product(product, user=user)


def product_history_count(product) -> int:
    """How many ledger, sale, count and goods-received rows point at the product."""
    from pos.inventory.models import GoodsReceiptLine, StockCountLine, StockMovement
    from pos.sales.models import SaleItem

    return sum(model.objects.filter(product=product).count()
               for model in (StockMovement, SaleItem, StockCountLine, GoodsReceiptLine))


@transaction.atomic
def delete_product(product, *, user=None):
    """Delete a product that was never stocked or sold; otherwise refuse and say to deactivate it."""
    locked = Product.objects.select_for_update().get(pk=product.pk)
    if product_history_count(locked):
        raise ServiceError(
            f"{locked.name} has stock movements or sales and cannot be deleted. "
            "Deactivate it instead (is_active = false): it leaves the till and keeps its history.",
            code="product_has_history",
        )
    locked._history_user = user
    lookup.products_changed([locked.pk])
    locked.delete()


def save_scale_rule(rule, *, user=None):
    """Validate and save a scale label rule (its digits must make an EAN-13)."""
    check_rule(rule)
    try:
        rule.full_clean()
    except ValidationError as exc:
        _raise_first(exc)
    with transaction.atomic():
        rule.save()
    return rule


# --- quick keys ------------------------------------------------------------------------------------

def save_quick_key(key, *, user=None):
    """Validate and save a quick key of the till's grid (one per product, an active product)."""
    key.label = (key.label or "").strip()
    if key.product_id and not Product.objects.filter(pk=key.product_id, is_active=True).exists():
        raise ServiceError("A quick key needs a product that is for sale (active).", field="product",
                           code="inactive_product")
    try:
        key.full_clean()
    except ValidationError as exc:
        _raise_first(exc)
    with transaction.atomic():
        key.save()
    return key


def delete_quick_key(key, *, user=None):
    key.delete()


def quick_keys():
    """The till's grid: active keys of active products, in order, with their products (one query)."""
    return (QuickKey.objects.filter(is_active=True, product__is_active=True)
            .select_related("product").order_by("position", "pk"))


def find_by_barcode(code):
    """The active product with this barcode, or None. One indexed query (unique index on barcode).
    The API's scanner lookup answers from pos.catalog.lookup (a cache that is never stale)."""
    code = (code or "").strip()
    if not code:
        return None
    try:
        return Product.objects.select_related("category").get(barcode=code, is_active=True)
    except Product.DoesNotExist:
        return None
