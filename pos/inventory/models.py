from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Round
from simple_history.models import HistoricalRecords

from pos.core.fields import MoneyField, QuantityField
from pos.core.money import to_money


class MovementKind(models.TextChoices):
    SALE = "sale", "Sale"
    RETURN = "return", "Customer return"
    CANCEL = "cancel", "Sale cancelled"
    PURCHASE = "purchase", "Purchase / goods received"
    ADJUSTMENT = "adjustment", "Adjustment"
    COUNT = "count", "Stock count correction"
    DAMAGE = "damage", "Damage / loss"
    TRANSFER = "transfer", "Transfer"


class StockMovement(models.Model):
    """The stock ledger: append-only. Product.stock_quantity == sum(quantity) of its movements."""

    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="movements")
    quantity = QuantityField(help_text="Signed: positive adds stock, negative removes it.")
    kind = models.CharField(max_length=20, choices=MovementKind.choices, db_index=True)
    reference = models.CharField(max_length=64, blank=True, db_index=True,
                                 help_text="What caused it: a receipt number, count or goods-received note.")
    unit_cost = MoneyField(default=0)
    balance_after = QuantityField(help_text="Stock of the product right after this movement.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "created_at"], name="movement_product_time")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity:+} {self.product}"


class AlertStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISMISSED = "dismissed", "Resolved by hand (still low)"
    RESOLVED = "resolved", "Resolved"


# An open alert blocks a new one for the same product: `active` ones are shown and e-mailed;
# `dismissed` ones were resolved by a manager while the product was still low, and stay quiet until
# stock goes back above the reorder level (then they turn `resolved` like any other).
OPEN_ALERT_STATUSES = (AlertStatus.ACTIVE, AlertStatus.DISMISSED)


class StockAlert(models.Model):
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="alerts")
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.ACTIVE,
                              db_index=True)
    quantity = QuantityField(help_text="Stock when the alert was raised.")
    reorder_level = QuantityField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", help_text="Empty when stock replenishment resolved it.")
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When managers were e-mailed about it.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["product"], condition=Q(status__in=["active", "dismissed"]),
                                    name="one_open_alert_per_product"),
        ]

    def __str__(self):
        return f"Low stock: {self.product}"


class CountStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class StockCountQuerySet(models.QuerySet):
    def with_totals(self):
        """Annotate lines, counted_lines and variance_value (each line's variance at cost rounded to the
        cent, then summed) in the same query."""
        counted = Q(lines__counted_quantity__isnull=False)
        line_value = Round((F("lines__counted_quantity") - F("lines__expected_quantity")) * F("lines__unit_cost"), 2)
        return self.annotate(
            lines_total=Count("lines"),
            counted_lines=Count("lines", filter=counted),
            variance_value=Coalesce(Sum(line_value, filter=counted, output_field=MoneyField()), Value(Decimal(0)),
                                    output_field=MoneyField()),
        )


class StockCount(models.Model):
    category = models.ForeignKey("catalog.Category", null=True, blank=True, on_delete=models.PROTECT,
                                 help_text="Empty: count every active product.")
    status = models.CharField(max_length=12, choices=CountStatus.choices, default=CountStatus.IN_PROGRESS,
                              db_index=True)
    note = models.TextField(blank=True)
    blind = models.BooleanField(
        "blind count", default=False,
        help_text="Hide the expected quantities (and variances) from the counters until the count is completed.")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    objects = StockCountQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Count #{self.pk}"

    @property
    def reference(self):
        return f"COUNT-{self.pk}"


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    expected_quantity = QuantityField()
    counted_quantity = QuantityField(null=True, blank=True)
    unit_cost = MoneyField(default=0)

    class Meta:
        ordering = ["product__name"]
        constraints = [models.UniqueConstraint(fields=["count", "product"], name="one_line_per_product_per_count")]

    def __str__(self):
        return self.product.name if self.product_id else "New line"

    @property
    def variance(self):
        if self.counted_quantity is None:
            return None
        return self.counted_quantity - self.expected_quantity

    @property
    def variance_value(self):
        """The variance valued at the unit cost of the snapshot, rounded to the cent."""
        if self.counted_quantity is None:
            return None
        return to_money(self.variance * self.unit_cost)


class Supplier(models.Model):
    name = models.CharField(max_length=200, unique=True)
    contact_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    kra_pin = models.CharField("KRA PIN", max_length=20, blank=True)
    address = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReceiptStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    POSTED = "posted", "Posted"


class GoodsReceipt(models.Model):
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="receipts")
    supplier_reference = models.CharField("supplier invoice / delivery note", max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=ReceiptStatus.choices, default=ReceiptStatus.DRAFT,
                              db_index=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "goods received note"

    def __str__(self):
        return self.reference

    @property
    def reference(self):
        return f"GRN-{self.pk}"


class GoodsReceiptLine(models.Model):
    receipt = models.ForeignKey(GoodsReceipt, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = QuantityField()
    unit_cost = MoneyField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="grn_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="grn_line_cost_not_negative"),
        ]

    def __str__(self):
        return f"{self.product.name} × {self.quantity.normalize():f}" if self.product_id else "New line"

    @property
    def value(self):
        return to_money(self.quantity * self.unit_cost)
