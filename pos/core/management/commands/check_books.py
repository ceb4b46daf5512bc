import sys

from django.core.management.base import BaseCommand

from pos.core.books import check_books


class Command(BaseCommand):
    help = "Verify the books: stock == ledger, sale totals == lines, paid sales covered, refunds <= payments."

    def handle(self, *args, **options):
        problems = check_books()
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            self.stderr.write(self.style.ERROR(f"{len(problems)} problem(s) found."))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Books are consistent."))
