from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pos.c2b import services
from pos.core.errors import ServiceError


class Command(BaseCommand):
    help = ("Register the shop's C2B validation and confirmation URLs with Daraja for its shortcode "
            "(and Pull Transactions, for reconciliation).")

    def add_arguments(self, parser):
        parser.add_argument("--shortcode", default="", help="Default: C2B_SHORTCODE.")
        parser.add_argument("--response-type", default="", choices=["", "Completed", "Cancelled"],
                            help="What M-Pesa does when our validation URL does not answer (default C2B_RESPONSE_TYPE).")
        parser.add_argument("--no-pull", action="store_true", help="Do not register Pull Transactions.")

    def handle(self, *args, shortcode, response_type, no_pull, **options):
        shortcode = shortcode or settings.C2B_SHORTCODE
        try:
            urls = services.c2b_urls()
            answer = services.register_urls(shortcode, response_type or None)
            self.stdout.write(self.style.SUCCESS(
                f"C2B URLs registered for {shortcode}: {answer.get('ResponseDescription', 'Success')}"))
            for name, url in urls.items():
                self.stdout.write(f"  {name}: {url.replace(settings.C2B_URL_TOKEN, '<C2B_URL_TOKEN>')}")
            if not no_pull:
                answer = services.register_pull(shortcode)
                self.stdout.write(self.style.SUCCESS(
                    f"Pull Transactions registered for {shortcode}: {answer.get('ResponseDescription', 'Success')}"))
        except ServiceError as exc:
            raise CommandError(exc.message) from None
