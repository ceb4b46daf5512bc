from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from pos.core.fields import MoneyField, QuantityField


class ShiftStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status", "Open")
    CLOSED = "closed", pgettext_lazy("status", "Closed")


class Shift(models.Model):
    """A till session: a cashier sells only inside an open shift; one open shift per cashier."""

    cashier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts")
    status = models.CharField(max_length=10, choices=ShiftStatus.choices, default=ShiftStatus.OPEN, db_index=True)
    opening_float = MoneyField(default=0)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    expected_cash = MoneyField(null=True, blank=True)
    counted_cash = MoneyField(null=True, blank=True)
    cash_variance = MoneyField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["cashier"], condition=Q(status="open"), name="one_open_shift_per_cashier"),
        ]

    def __str__(self):
        return f"Shift #{self.pk} {self.cashier}"


class ShiftTotal(models.Model):
    """Per payment method at shift close: opening, expected, counted and difference."""

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="totals")
    method = models.CharField(max_length=20)
    opening = MoneyField(default=0)
    expected = MoneyField(default=0)
    counted = MoneyField(default=0)
    difference = MoneyField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shift", "method"], name="one_total_per_method_per_shift")]


class ReceiptSequence(models.Model):
    """Gap-free receipt numbers: the row is locked and incremented in the sale's transaction."""

    prefix = models.CharField(max_length=10, unique=True)
    last_number = models.PositiveBigIntegerField(default=0)


class SaleStatus(models.TextChoices):
    OPEN = "open", _("Open (cart)")
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    PARTIALLY_RETURNED = "partially_returned", _("Partially returned")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")


# A sale that counts as sold: paid, whatever came back afterwards (its returns are subtracted on their own).
# The one list: reports, rollups, check_books, the shift report, receipts and eTIMS all use it.
SOLD_STATUSES = (SaleStatus.PAID, SaleStatus.PARTIALLY_RETURNED, SaleStatus.RETURNED)


class Sale(models.Model):
    """Money fields: subtotal = sum of line gross (qty x VAT-inclusive price); discount = line + order
    discounts; total = subtotal - discount + rounding = sum of line totals + the rounding line;
    tax = sum of line VAT (the rounding line carries no VAT). change_due = all change handed out on the
    sale (the books); the change of the last cash tender is on its Payment."""

    receipt_number = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=20, choices=SaleStatus.choices, default=SaleStatus.OPEN, db_index=True)
    cashier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales")
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.PROTECT, related_name="sales")
    customer_name = models.CharField(max_length=120, blank=True)
    customer_phone = models.CharField(max_length=20, blank=True)
    subtotal = MoneyField(default=0)
    order_discount = MoneyField(default=0, help_text="Discount on the whole sale, spread over its lines.")
    discount = MoneyField(default=0, help_text="All discounts: lines and order.")
    tax = MoneyField(default=0)
    rounding = MoneyField(default=0, help_text="Cash rounding line (CASH_ROUNDING_STEP): total - sum of lines.")
    total = MoneyField(default=0)
    paid_amount = MoneyField(default=0, help_text="Sum of completed payments.")
    change_due = MoneyField(default=0)
    returned_amount = MoneyField(default=0, help_text="Value of the goods brought back (returns).")
    currency = models.CharField(max_length=3, default="KES")
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    request_hash = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="Empty when the sale expired unpaid.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("cancel_sale", "Can cancel a sale"),
            ("return_sale", "Can take returns on a sale"),
            ("use_checkout", "Can use the checkout page"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="sale_status_time")]

    def __str__(self):
        return self.receipt_number

    @property
    def balance_due(self):
        return max(self.total - self.paid_amount, 0)


class SaleItem(models.Model):
    """A line, copied from the catalogue at the moment of sale: later edits never change history.

    gross = qty x unit_price (rounded); total = gross - discount - order_discount;
    tax = VAT contained in total; net = total - tax; cost = qty x unit_cost.
    """

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="sale_items")
    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64, blank=True)
    barcode = models.CharField(max_length=64, blank=True)
    quantity = QuantityField()
    unit_price = MoneyField()
    unit_cost = MoneyField(default=0)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    gross = MoneyField(default=0)
    discount = MoneyField(default=0, help_text="Discount given on this line.")
    order_discount = MoneyField(default=0, help_text="This line's share of the order discount.")
    tax = MoneyField(default=0)
    total = MoneyField(default=0)
    cost = MoneyField(default=0)
    returned_quantity = QuantityField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="sale_item_quantity_positive"),
            models.CheckConstraint(condition=Q(returned_quantity__lte=models.F("quantity")),
                                   name="sale_item_returned_at_most_sold"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.name}"

    @property
    def net(self):
        return self.total - self.tax


class SaleReturn(models.Model):
    """Goods brought back from a paid sale. The refund owed is settled by pos.payments.

    amount = sum of the lines' amounts + rounding (the refund in whole shillings, like the sale; the
    return that brings the last unit back makes the returns add up to exactly what the sale charged)."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="returns")
    amount = MoneyField(help_text="Refund owed to the customer (VAT incl.).")
    rounding = MoneyField(default=0, help_text="Rounding line of the refund.")
    tax = MoneyField(default=0)
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.PROTECT, related_name="returns",
                              help_text="The till session that pays the refund out (cash); empty: back office.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Return #{self.pk} of {self.sale}"


class SaleReturnLine(models.Model):
    sale_return = models.ForeignKey(SaleReturn, on_delete=models.CASCADE, related_name="lines")
    sale_item = models.ForeignKey(SaleItem, on_delete=models.PROTECT, related_name="return_lines")
    quantity = QuantityField()
    amount = MoneyField()
    tax = MoneyField(default=0)
    cost = MoneyField(default=0)


class OverrideAction(models.TextChoices):
    DISCOUNT = "discount", "Discount beyond the cashier's cap"
    RETURN = "return", "Return"
    VOID = "void", "Void of a paid sale"
    REFUND = "refund", "Refund"
    CASH_OUT = "cash_out", "Cash out of the drawer above the limit"


class Authorisation(models.Model):
    """A manager's PIN typed at a cashier's till allowed one thing: who, what, when, on which sale."""

    action = models.CharField(max_length=20, choices=OverrideAction.choices)
    sale = models.ForeignKey(Sale, null=True, blank=True, on_delete=models.PROTECT, related_name="authorisations")
    sale_return = models.ForeignKey(SaleReturn, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="authorisations")
    cash_movement = models.ForeignKey("CashMovement", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="authorisations")
    authorised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     help_text="The cashier logged in at the till.")
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_action_display()} by {self.authorised_by} at {self.requested_by}'s till"


class CashMovementKind(models.TextChoices):
    IN = "in", "Cash in (paid in)"
    OUT = "out", "Cash out (paid out)"


class CashMovement(models.Model):
    """Cash put into or taken out of a till's drawer during a shift that is not a sale or a refund: coins
    brought from the bank (in), a supplier or a banking drop paid from the drawer (out). Counted in the
    shift's expected cash (shift_report). A cash out above CASH_OUT_AUTHORISATION_LIMIT needs a manager."""

    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="cash_movements")
    kind = models.CharField(max_length=3, choices=CashMovementKind.choices)
    amount = MoneyField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    authorised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", help_text="The manager who allowed a cash out above the limit.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("large_cash_out", "Can take cash out of a drawer above the limit")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_movement_amount_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="cash_movement_reason_required"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} (shift #{self.shift_id})"
