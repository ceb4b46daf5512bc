import uuid

from django.conf import settings
from django.db import models


class ReportAccess(models.Model):
    """No table: carries the reports permissions (view_reports, view_profit)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can view and export reports"), ("view_profit", "Can view profit and cost")]


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Ready to download"
    FAILED = "failed", "Failed"


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel (xlsx)"
    CSV = "csv", "CSV"


class ExportJob(models.Model):
    """A large export written by a background task (django-q2) under MEDIA_ROOT/exports/."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=30, default="sales_lines")
    file_format = models.CharField(max_length=4, choices=ExportFormat.choices, default=ExportFormat.XLSX)
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED,
                              db_index=True)
    file = models.FileField(upload_to="exports/", blank=True)
    rows = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} {self.start}..{self.end} ({self.status})"


class SalesRollup(models.Model):
    """Daily sums of the sales lines and returns that count (pos/reports/rollups.py), one row per day (in
    the shop's zone), cashier and key: `dim` "p" a product, "c" a category (the product's category when
    sold or returned), "d" the whole day (key 0, with the
    sales' and returns' cash rounding lines); "m" and "y" a product per month and per year (`day`:
    the bucket's first day; a year row also holds `last_day`, the product's last day of sales in that
    year). Maintained in the transaction that marks a sale paid and in the one that takes a return, so
    the reports read days, not lines; `check_books` proves the rows equal the lines."""

    day = models.DateField()
    cashier_id = models.BigIntegerField()
    dim = models.CharField(max_length=1)
    key_id = models.BigIntegerField()
    sold_quantity = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    gross = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    discounts = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    sales_count = models.IntegerField(default=0)
    lines = models.IntegerField(default=0)
    returned_quantity = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    returned_amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    returned_tax = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    returned_cost = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    returns_count = models.IntegerField(default=0)
    # db_default too: code that writes rollups without these columns (a deploy in progress) still works.
    rounding = models.DecimalField(max_digits=20, decimal_places=2, default=0, db_default=0,
                                   help_text="Cash rounding lines of the sales (day rows only).")
    returned_rounding = models.DecimalField(max_digits=20, decimal_places=2, default=0, db_default=0,
                                            help_text="Rounding lines of the returns (day rows only).")
    last_day = models.DateField(null=True, blank=True,
                                help_text="Product-year rows only: the year's last day with sale lines of the "
                                          "product (None: returns only). Slow movers read it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "cashier_id", "dim", "key_id"], name="one_rollup_per_key")]
        indexes = [models.Index(fields=["dim", "day"], name="rollup_dim_day"),
                   # a product's last day of sales (slow movers): one step back in the index
                   models.Index(fields=["dim", "key_id", "day"], name="rollup_dim_key_day")]

    def __str__(self):
        return f"{self.day} {self.dim}{self.key_id} cashier {self.cashier_id}"
