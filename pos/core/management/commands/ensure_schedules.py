from django.core.management.base import BaseCommand

from pos.core.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules of every app (idempotent)."

    def handle(self, *args, **options):
        for name in ensure_schedules():
            self.stdout.write(f"schedule ok: {name}")
