from django.db import models


class ReportAccess(models.Model):
    """No table: carries the reports permissions (view_reports, view_profit)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can view and export reports"), ("view_profit", "Can view profit and cost")]
