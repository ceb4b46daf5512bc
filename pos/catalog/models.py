from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from pos.core.fields import MoneyField, QuantityField


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


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def low_stock(self):
        return self.filter(is_active=True, stock_quantity__lte=F("reorder_level"))


class Product(models.Model):
    name = models.CharField(max_length=200, db_index=True)
    sku = models.CharField("SKU", max_length=64, unique=True)
    barcode = models.CharField(max_length=64, unique=True, null=True, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = MoneyField("selling price (VAT incl.)", validators=[MinValueValidator(Decimal("0.00"))])
    cost_price = MoneyField(default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0.00"))])
    tax_rate = models.DecimalField(
        "VAT rate %", max_digits=5, decimal_places=2, default=Decimal("16.00"),
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
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=Q(cost_price__gte=0), name="product_cost_not_negative"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_low_stock(self):
        return self.stock_quantity <= self.reorder_level

    @property
    def currency(self):
        return settings.CURRENCY
