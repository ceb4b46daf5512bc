import secrets

from django.conf import settings
from django.db import models
from django.db.models import Case, CharField, F, Q, Value, When
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pos.core.fields import MoneyField


class Method(models.TextChoices):
    CASH = "cash", "Cash"
    MPESA = "mpesa", "M-Pesa"
    AIRTEL = "airtel", "Airtel Money"
    CARD = "card", "Card"


# What the cashier is told when M-Pesa answers "busy" (code 17) for a phone: stored in English, shown in the
# reader's language (Payment.shown_result_message).
BUSY_MESSAGE = gettext_noop("M-Pesa is still handling an earlier request for this phone. Ask the customer to wait "
                            "up to 2 minutes, then try again.")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    # We asked the provider but never saw its answer (5xx after acting, timeout, dropped connection, our
    # database failing right after): it may have acted. Never guessed failed; re-checked until definite.
    UNCONFIRMED = "unconfirmed", _("Waiting for confirmation")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


FINAL_STATUSES = {PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED}
# The one definition of a payment "in flight": it may still bring money in. A sale holding one cannot be
# cancelled or expired (pos.sales uses this), and new payments may not exceed what is due minus these.
IN_FLIGHT_STATUSES = (PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.UNCONFIRMED)
# Statuses whose payment counts against a sale: in flight or completed.
LIVE_STATUSES = (*IN_FLIGHT_STATUSES, PaymentStatus.COMPLETED)


class Attention(models.TextChoices):
    """Why a payment needs a person to look at it (money was received but not simply applied)."""

    NONE = "", "-"
    UNDERPAID = "underpaid", "Provider reports less money than expected"
    OVERPAID = "overpaid", "Paid more than the sale needed: refund the excess"
    REFUND_DUE = "refund_due", "Paid after the sale was cancelled: refund it"
    RECEIPT_CONFLICT = "receipt_conflict", "Provider receipt already used by another payment"
    CURRENCY_MISMATCH = "currency_mismatch", "Provider reports another currency"
    UNRESOLVED = "unresolved", "No definite answer from the provider in time: check its portal"


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
    # The receipt a (token-matched) success callback reported, kept whatever the query says meanwhile;
    # it becomes `receipt` when the provider confirms (STK Query never returns the receipt).
    reported_receipt = models.CharField(max_length=100, blank=True)
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
    # When the task worker took the request to the provider (set once, under the row lock, before the
    # call): a payment is asked for at most once, whatever the worker or the broker do.
    sent_at = models.DateTimeField(null=True, blank=True)
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

    @property
    def is_in_flight(self):
        return self.status in IN_FLIGHT_STATUSES

    @property
    def shown_result_message(self) -> str:
        """result_message as a reader sees it: the shop's own words in the reader's language (a busy
        M-Pesa, written by the task worker in the shop's language), the provider's as the provider wrote
        them."""
        if self.result_code == "provider_busy":
            return gettext(BUSY_MESSAGE)
        return self.result_message

    @property
    def till_message(self) -> str:
        """What the cashier sees for this payment's state."""
        provider = {"provider": self.get_method_display()}
        if self.status == PaymentStatus.UNCONFIRMED:
            return gettext("Waiting for %(provider)s to confirm. Do not take the money again: the shop checks with "
                           "%(provider)s automatically.") % provider
        if self.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
            return gettext("Waiting for the customer to approve on %(provider)s.") % provider
        return self.shown_result_message


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
    # Which URL it came to: payment (STK/collection/charge), reversal (ResultURL), reversal_timeout
    # (QueueTimeOutURL), status (Transaction Status ResultURL). Results are routed by URL, not by body.
    route = models.CharField(max_length=20, default="payment", blank=True)
    token = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The signature check done when it arrived (the secret header itself is not kept): True/False, or
    # None when the provider does not sign.
    signature_ok = models.BooleanField(null=True, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks")
    refund = models.ForeignKey("Refund", null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks")
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
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    PROCESSING = "processing", _("Processing")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


class RefundAttention(models.TextChoices):
    NONE = "", "-"
    LATE_SUCCESS = "late_success", "The provider refunded after we had recorded a failure"
    AMOUNT_MISMATCH = "amount_mismatch", "The provider refunded another amount"
    UNRESOLVED = "unresolved", "No definite answer from the provider in time: check its portal"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    sale_return = models.ForeignKey("sales.SaleReturn", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="refunds")
    amount = MoneyField()
    # Cash paid out of this shift's drawer, whatever the payment's method (a customer who paid by M-Pesa
    # takes cash back): counted in that shift's cash refunds. Empty: the payment's own way (the provider,
    # or cash in the back office).
    drawer_shift = models.ForeignKey("sales.Shift", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="cash_refunds")
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING_APPROVAL,
                              db_index=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    provider_secondary_reference = models.CharField(max_length=100, blank=True)
    result_code = models.CharField(max_length=40, blank=True)
    result_message = models.CharField(max_length=300, blank=True)
    # What the provider's result says was refunded (M-Pesa reversal Amount, Flutterwave amount_refunded).
    provider_amount = MoneyField(null=True, blank=True)
    attention = models.CharField(max_length=20, choices=RefundAttention.choices, blank=True, default="",
                                 db_index=True)
    attention_note = models.CharField(max_length=300, blank=True)
    check_attempts = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the task worker took the refund to the provider (set once, under the row lock, before the call).
    sent_at = models.DateTimeField(null=True, blank=True)
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

    @staticmethod
    def paid_by_expression():
        """`paid_by` in SQL, for grouping refunds by how the money went back (X/Z report, sales report)."""
        return Case(When(drawer_shift__isnull=False, then=Value(Method.CASH)), default=F("payment__method"),
                    output_field=CharField())

    @property
    def paid_by(self) -> str:
        """How the money went back: "cash" from a till's drawer, else the payment's own method."""
        return Method.CASH if self.drawer_shift_id is not None else self.payment.method

    @property
    def paid_in_cash(self) -> bool:
        """Paid out of a till's drawer: a cash payment's refund, or any refund given from a drawer."""
        return self.drawer_shift_id is not None or self.payment.method == Method.CASH


class ProviderToken(models.Model):
    """One OAuth token per provider, shared by every process. Refreshed under a row lock so concurrent
    workers fetch it once (asking Daraja for a new token invalidates the previous one)."""

    provider = models.CharField(max_length=20, unique=True)
    access_token = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
