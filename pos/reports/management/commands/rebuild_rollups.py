"""Recompute the reports' daily rollups from the sales lines (all days, or --start/--end)."""

from datetime import date

from django.core.management.base import BaseCommand

from pos.reports import rollups


class Command(BaseCommand):
    help = "Recompute the reports' daily rollups from the sales lines (after loading sales by other means)."

    def add_arguments(self, parser):
        parser.add_argument("--start", type=date.fromisoformat, help="first day (YYYY-MM-DD); default: the first")
        parser.add_argument("--end", type=date.fromisoformat, help="last day (YYYY-MM-DD); default: the last")

    def handle(self, *args, start=None, end=None, **options):
        rows = rollups.rebuild(start, end)
        self.stdout.write(f"{rows} rollup rows written")
