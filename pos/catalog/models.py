from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from pos.core.fields import MoneyField, QuantityField


def default_tax_rate():
    """The VAT rate a product gets when none is given: settings.DEFAULT_TAX_RATE (Kenya's standard 16.00).
    The model, the admin form, the API, the import and the demo data all take it from here."""
    return settings.DEFAULT_TAX_RATE


class Category(models.Model):
    name = models.CharField(max_length=120, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Unit(models.TextChoices):
    PIECE = "pcs", "Piece"
    KILOGRAM = "kg", "Kilogram"
    GRAM = "g", "Gram"
    LITRE = "l", "Litre"
    METRE = "m", "Metre"
    PACK = "pack", "Pack"


def low_stock_q(prefix=""):
    """The one definition of low stock: a product still sold (active) whose stock is at or below its reorder
    level (out of stock included). Alerts, the catalogue API and admin, reports and the dashboard use it;
    `prefix` reaches it through a relation ("product__"). Product.low_on_stock is the same test on a row."""
    return Q(**{f"{prefix}is_active": True, f"{prefix}stock_quantity__lte": F(f"{prefix}reorder_level")})


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def low_stock(self):
        return self.filter(low_stock_q())


class Product(models.Model):
    name = models.CharField(max_length=200, db_index=True)
    sku = models.CharField("SKU", max_length=64, unique=True)
    barcode = models.CharField(max_length=64, unique=True, null=True, blank=True)
    plu = models.CharField(
        "PLU", max_length=6, unique=True, null=True, blank=True,
        help_text="Item code on the scale's labels (weighed or priced goods), digits, e.g. 4011. "
                  "A label whose rule (Scale label rules) reads this code scans into this product.",
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = MoneyField("selling price (VAT incl.)", validators=[MinValueValidator(Decimal("0.00"))])
    cost_price = MoneyField(default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0.00"))])
    tax_rate = models.DecimalField(
        "VAT rate %", max_digits=5, decimal_places=2, default=default_tax_rate,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.PIECE)
    # A cache of the sum of this product's stock movements; changed only by pos.inventory.services.
    stock_quantity = QuantityField(default=Decimal("0"), editable=False)
    reorder_level = QuantityField(default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    image = models.ImageField(upload_to="products/", blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["stock_quantity", "updated_at"])

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # the offline tills' catalogue sync reads by cursor (updated_at, id): pos.tills.services.catalogue_changes
        indexes = [models.Index(fields=["updated_at", "id"], name="catalog_product_sync_cursor")]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(cost_price__gte=0), name="product_cost_not_negative"),
        ]

    def __str__(self):
        return self.name

    @property
    def currency(self):
        return settings.CURRENCY

    @property
    def low_on_stock(self):
        """low_stock_q() on this row as it is in memory (e.g. locked, just moved)."""
        return self.is_active and self.stock_quantity <= self.reorder_level


class ScaleValue(models.TextChoices):
    WEIGHT = "weight", "Weight"
    PRICE = "price", "Price"


class ScaleBarcodeRule(models.Model):
    """How to read an EAN-13 printed by a scale (GS1 "restricted circulation" prefixes 20-29): a prefix, the
    item code (the product's PLU), an optional check digit over the value, the value (a weight or a price)
    and the EAN-13 check digit. E.g. prefix 20 + 5-digit PLU + 5-digit weight in grams + check digit:
    2000123012346 is PLU 123 at 1.234 kg. pos.catalog.scale reads labels with these rules."""

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=3, unique=True,
                              help_text="The label's first digits, e.g. 20 (weight) or 22 (price).")
    item_digits = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1),
                                                                          MaxValueValidator(6)],
                                                   help_text="Digits of the item code (the product's PLU).")
    value_kind = models.CharField(max_length=10, choices=ScaleValue.choices, default=ScaleValue.WEIGHT)
    value_check_digit = models.BooleanField(
        default=False, help_text="A check digit over the value sits between the item code and the value "
                                 "(some scales' price labels, e.g. 22 IIII V PPPPP C).")
    verify_value_check_digit = models.BooleanField(
        default=True, help_text="Refuse a label whose value check digit is wrong (GS1's weighted check of a "
                                "4- or 5-digit price or weight). Off: the digit is skipped (a scale that "
                                "prints something else there).")
    value_digits = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(3),
                                                                           MaxValueValidator(6)])
    value_decimals = models.PositiveSmallIntegerField(
        default=3, validators=[MaxValueValidator(3)],
        help_text="Decimals of the value: 3 for a weight in grams read as kg, 2 for a price in cents, "
                  "0 for whole shillings.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["prefix"]
        verbose_name = "scale label rule"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def length(self):
        return len(self.prefix) + self.item_digits + int(self.value_check_digit) + self.value_digits + 1


class QuickKeyColour(models.TextChoices):
    GREEN = "green", "Green"
    ORANGE = "orange", "Orange"
    RED = "red", "Red"
    YELLOW = "yellow", "Yellow"
    BLUE = "blue", "Blue"
    PURPLE = "purple", "Purple"
    BROWN = "brown", "Brown"
    GREY = "grey", "Grey"


class QuickKey(models.Model):
    """A tile of the till's quick keys grid: a favourite product (produce, bread, unbarcoded goods) the
    cashier adds with one touch or one key. The shop's managers choose and order them in the admin."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="quick_keys")
    label = models.CharField(max_length=30, blank=True, help_text="Short text on the tile; empty: the name.")
    colour = models.CharField(max_length=10, choices=QuickKeyColour.choices, default=QuickKeyColour.GREEN)
    image = models.ImageField(upload_to="quick-keys/", blank=True,
                              help_text="Picture on the tile; empty: the product's picture, if any.")
    position = models.PositiveSmallIntegerField(default=0, db_index=True, help_text="Smaller comes first.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "quick key"
        constraints = [models.UniqueConstraint(fields=["product"], name="quick_key_one_per_product")]

    def __str__(self):
        return self.label or self.product.name
