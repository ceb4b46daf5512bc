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
