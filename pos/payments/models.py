import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from pos.core.fields import MoneyField


class Method(models.TextChoices):
    CASH = "cash", "Cash"
    MPESA = "mpesa", "M-Pesa"
    AIRTEL = "airtel", "Airtel Money"
    CARD = "card", "Card"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


FINAL_STATUSES = {PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED}


class Attention(models.TextChoices):
    """Why a payment needs a person to look at it (money was received but not simply applied)."""

    NONE = "", "-"
    UNDERPAID = "underpaid", "Provider reports less money than expected"
    OVERPAID = "overpaid", "Paid more than the sale needed: refund the excess"
    REFUND_DUE = "refund_due", "Paid after the sale was cancelled: refund it"
    RECEIPT_CONFLICT = "receipt_conflict", "Provider receipt already used by another payment"
    CURRENCY_MISMATCH = "currency_mismatch", "Provider reports another currency"


def new_callback_token():
    return secrets.token_urlsafe(24)


class Payment(models.Model):
    sale = models.ForeignKey("sales.Sale", on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=10, choices=Method.choices, db_index=True)
    amount = MoneyField(help_text="Amount applied to the sale.")
    currency = models.CharField(max_length=3, default="KES")
    status = models.CharField(max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING,
                              db_index=True)
    phone_number = models.CharField(max_length=20, blank=True)
    amount_tendered = MoneyField(null=True, blank=True, help_text="Cash handed over by the customer.")
    change_given = MoneyField(default=0)
    # Provider references: M-Pesa CheckoutRequestID / Airtel transaction id / card tx_ref ...
    provider_reference = models.CharField(max_length=100, blank=True, db_index=True)
    # ... and M-Pesa MerchantRequestID / card gateway transaction id.
    provider_secondary_reference = models.CharField(max_length=100, blank=True)
    # The provider's receipt: MpesaReceiptNumber, airtel_money_id, card reference. Unique when set.
    receipt = models.CharField(max_length=100, blank=True)
    amount_received = MoneyField(null=True, blank=True, help_text="What the provider says was paid.")
    result_code = models.CharField(max_length=40, blank=True)
    result_message = models.CharField(max_length=300, blank=True)
    redirect_url = models.URLField(max_length=500, blank=True, help_text="Card: the provider's payment page.")
    attention = models.CharField(max_length=20, choices=Attention.choices, blank=True, default="", db_index=True)
    attention_note = models.CharField(max_length=300, blank=True)
    callback_token = models.CharField(max_length=64, unique=True, default=new_callback_token, editable=False)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    request_hash = models.CharField(max_length=64, blank=True)
    verify_attempts = models.PositiveIntegerField(default=0)
    next_verify_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["method", "receipt"], condition=~Q(receipt=""),
                                    name="unique_provider_receipt"),
            models.UniqueConstraint(fields=["method", "provider_reference"], condition=~Q(provider_reference=""),
                                    name="unique_provider_reference"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} {self.amount} ({self.status})"

    @property
    def is_final(self):
        return self.status in FINAL_STATUSES


class PaymentEvent(models.Model):
    """Every outbound call to a provider and its answer, without secrets."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=40)
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class CallbackOutcome(models.TextChoices):
    RECEIVED = "received", "Received"
    APPLIED = "applied", "Applied"
    DUPLICATE = "duplicate", "Duplicate (nothing changed)"
    REJECTED = "rejected", "Rejected"


class PaymentCallback(models.Model):
    """The raw body of every callback/webhook, stored before anything else is done with it."""

    provider = models.CharField(max_length=20, db_index=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks")
    raw_body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=12, choices=CallbackOutcome.choices, default=CallbackOutcome.RECEIVED,
                               db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]


class RefundStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    sale_return = models.ForeignKey("sales.SaleReturn", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="refunds")
    amount = MoneyField()
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING_APPROVAL,
                              db_index=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    result_code = models.CharField(max_length=40, blank=True)
    result_message = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    request_hash = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_refund", "Can approve refunds")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"Refund {self.amount} of payment #{self.payment_id} ({self.status})"


class ProviderToken(models.Model):
    """One OAuth token per provider, shared by every process. Refreshed under a row lock so concurrent
    workers fetch it once (asking Daraja for a new token invalidates the previous one)."""

    provider = models.CharField(max_length=20, unique=True)
    access_token = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
