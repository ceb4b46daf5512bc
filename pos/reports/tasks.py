"""django-q2 entry points of the reports (thin: the work is in pos.reports.services)."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from pos.reports import services
from pos.reports.queries import shop_zone

DAILY_SUMMARY_AT = time(21, 0)


def next_daily_run(now=None):
    """The next 21:00 in the shop's time zone."""
    now = timezone.localtime(now or timezone.now(), shop_zone())
    run = datetime.combine(now.date(), DAILY_SUMMARY_AT, tzinfo=shop_zone())
    return run if run > now else run + timedelta(days=1)


SCHEDULES = [
    {"name": "Daily sales summary e-mail", "func": "pos.reports.tasks.email_daily_summary", "schedule_type": "C",
     "cron": "0 21 * * *", "repeats": -1, "next_run": next_daily_run()},
    {"name": "Delete old export files", "func": "pos.reports.tasks.delete_old_exports", "schedule_type": "H",
     "repeats": -1},
]


def email_daily_summary():
    """Scheduled daily at 21:00 shop time (cron read in settings.TIME_ZONE by django-q2)."""
    return services.send_daily_summary()


def delete_old_exports():
    return services.delete_old_exports()


def export_sales_lines(job_id):
    return services.write_sales_lines_export(job_id).status
