"""Serve only the payment provider simulators, e.g. for a shop whose web server runs elsewhere.

    python manage.py run_sandbox --port 8001
    SANDBOX_BASE_URL=http://127.0.0.1:8001/sandbox   (in the shop's environment)
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import run
from django.urls import clear_url_caches


class Command(BaseCommand):
    help = "Serve the M-Pesa, Airtel Money and Flutterwave simulators (under /sandbox/) on their own port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *args, host, port, **options):
        settings.ROOT_URLCONF = "pos.payments.sandbox.standalone_urls"
        clear_url_caches()
        self.stdout.write(f"Payment sandbox on http://{host}:{port}/sandbox/ (Ctrl+C to stop)")
        self.stdout.flush()
        run(host, port, WSGIHandler(), threading=True)
