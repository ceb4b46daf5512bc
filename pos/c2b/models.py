"""The register of M-Pesa money the shop received (Lipa na M-Pesa: the customer paid the till or paybill
from their own phone), and the raw log of every notification Daraja (or anyone) sent to the C2B URLs.

The register is append-only: a row is never deleted. Matching it to a sale is a link to the Payment it
became (one receipt -> at most one Payment, enforced by a unique link and by Payment's unique receipt).
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from pos.core.fields import MoneyField


class Source(models.TextChoices):
    CONFIRMATION = "confirmation", "C2B confirmation"
    PULL = "pull", "Pull Transactions (reconciliation)"


class ReceiptState(models.TextChoices):
    UNMATCHED = "unmatched", "Unmatched"
    MATCHED = "matched", "Matched to a sale"
    DEPOSIT = "deposit", "Customer deposit / overpayment"


class MatchRule(models.TextChoices):
    REFERENCE = "reference", "Account number = the sale's reference"
    AMOUNT = "amount", "The only waiting sale of this amount"
    CODE = "code", "Cashier typed the SMS code"
    PICKED = "picked", "Cashier picked it from the list"
    MANAGER = "manager", "Matched later by a manager"
    STK = "stk", "The receipt of an STK Push payment"
    RECONCILED = "reconciled", "Found by reconciliation for a stuck STK payment"


class ReceivedPayment(models.Model):
    """One M-Pesa receipt (TransID) paid to the shop's shortcode."""

    trans_id = models.CharField("M-Pesa receipt", max_length=40, unique=True)
    trans_type = models.CharField(max_length=40, blank=True, help_text="Pay Bill / Buy Goods")
    trans_time = models.DateTimeField(null=True, blank=True, help_text="When M-Pesa says it was paid.")
    amount = MoneyField()
    shortcode = models.CharField(max_length=20, blank=True)
    bill_ref = models.CharField("account number", max_length=100, blank=True)
    invoice_number = models.CharField(max_length=100, blank=True)
    msisdn = models.CharField(max_length=100, blank=True, help_text="A number, or (since 2023) a SHA-256 digest "
                                                                      "or a masked number.")
    first_name = models.CharField(max_length=100, blank=True)
    middle_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    org_balance = models.CharField(max_length=40, blank=True)
    third_party_trans_id = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.CONFIRMATION)
    state = models.CharField(max_length=12, choices=ReceiptState.choices, default=ReceiptState.UNMATCHED,
                             db_index=True)
    payment = models.OneToOneField("payments.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="c2b_receipt")
    match_rule = models.CharField(max_length=12, choices=MatchRule.choices, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    shift = models.ForeignKey("sales.Shift", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="c2b_receipts",
                              help_text="The shift it arrived in (the matched sale's shift once matched).")
    note = models.CharField(max_length=300, blank=True)
    flagged = models.BooleanField(default=False, db_index=True)
    flag_reason = models.CharField(max_length=300, blank=True)
    seen_at_safaricom = models.DateTimeField(null=True, blank=True,
                                             help_text="Last listed by Pull Transactions.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    raw = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "received M-Pesa payment"
        permissions = [("match_receivedpayment", "Can match received M-Pesa money to sales or deposits")]
        indexes = [models.Index(fields=["state", "received_at"], name="c2b_state_time")]

    def __str__(self):
        return f"{self.trans_id} {self.amount}"

    @property
    def payer(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part).strip()


class NotificationKind(models.TextChoices):
    VALIDATION = "validation", "Validation"
    CONFIRMATION = "confirmation", "Confirmation"
    PULL = "pull", "Pull Transactions notice"


class NotificationOutcome(models.TextChoices):
    RECEIVED = "received", "Received"
    STORED = "stored", "Stored in the register"
    DUPLICATE = "duplicate", "Duplicate (nothing changed)"
    FORGED = "forged", "Ignored: wrong or missing URL token"
    MALFORMED = "malformed", "Malformed"
    ACCEPTED = "accepted", "Validation accepted"
    REFUSED = "refused", "Validation refused"


class C2BNotification(models.Model):
    """The raw body of every request to the C2B URLs, stored before anything else is done with it."""

    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    raw_body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    token_ok = models.BooleanField(default=False)
    trans_id = models.CharField(max_length=40, blank=True, db_index=True)
    outcome = models.CharField(max_length=12, choices=NotificationOutcome.choices,
                               default=NotificationOutcome.RECEIVED, db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    receipt = models.ForeignKey(ReceivedPayment, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="notifications")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.trans_id or '?'} ({self.outcome})"


class ReconciliationRun(models.Model):
    """One pull of Daraja's Pull Transactions and what it found."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    pages = models.PositiveIntegerField(default=0)
    listed = models.PositiveIntegerField(default=0)
    new_receipts = models.PositiveIntegerField(default=0)
    stk_completed = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]
