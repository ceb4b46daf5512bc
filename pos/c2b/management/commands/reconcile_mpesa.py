import sys

from django.core.management.base import BaseCommand

from pos.c2b import services


class Command(BaseCommand):
    help = ("Pull the shortcode's M-Pesa transactions of the last hours (Daraja keeps 48) and record every "
            "receipt the shop missed; stuck STK payments get their receipt when it is provable.")

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=0, help="How far back (default C2B_RECONCILE_HOURS, max 48).")

    def handle(self, *args, hours, **options):
        run = services.reconcile(hours=hours or None)
        if run.error:
            self.stderr.write(self.style.ERROR(f"M-Pesa could not be asked: {run.error}"))
            sys.exit(1)
        self.stdout.write(f"{run.pages} page(s), {run.listed} transaction(s) listed by M-Pesa; "
                          f"{run.stk_completed} stuck STK payment(s) completed with their receipt; "
                          f"{run.new_receipts} receipt(s) the shop never recorded, flagged for a manager.")
