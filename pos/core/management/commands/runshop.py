"""Run the whole shop on this machine: database, demo data, schedules, a django-q2 worker and the web
server (with the payment sandbox under /sandbox/). Stops the worker when the server stops."""

import os
import signal
import socket
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from pos.c2b.services import register_with_sandbox_in_background


class Command(BaseCommand):
    help = "Migrate, load the demo shop once, create schedules, start a task worker and serve the shop."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo shop.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start the django-q2 worker.")

    def handle(self, *args, addrport, no_demo, no_worker, **options):
        # runserver ends the process at once (os._exit) when its address is taken, so a worker started
        # before would be left running without its shop: the address is checked first.
        if address_taken(addrport):
            raise CommandError(f"{addrport} is already in use: is the shop already running? Stop it, or give "
                               f"another address: manage.py runshop 127.0.0.1:8001")
        call_command("migrate", interactive=False, verbosity=1)
        if not no_demo and "load_demo" in get_commands():
            call_command("load_demo")
        call_command("ensure_schedules")
        worker = None if no_worker else self.start_worker()
        register_with_sandbox_in_background(self.stdout)  # M-Pesa simulated: "customer pays the till" works
        # Stopping the shop with SIGTERM (kill, systemd) must stop the worker too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        self.stdout.write(self.style.SUCCESS(
            f"Shop at http://{addrport}/admin/  API docs http://{addrport}/swagger/  "
            f"payments sandbox {settings.SANDBOX_BASE_URL}/"
        ))
        try:
            call_command("runserver", addrport, use_reloader=False, use_threading=True)
        finally:
            if worker:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def start_worker(self):
        self.stdout.write("Starting the task worker (manage.py qcluster)...")
        return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=settings.BASE_DIR, env=os.environ.copy())


def address_taken(addrport) -> bool:
    """Whether something already listens on runserver's `addrport` ("8000", "0.0.0.0:8000", "[::1]:8000")."""
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit():
        return False  # runserver says what is wrong with the address
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver binds
        try:
            probe.bind((host, int(port)))
        except OSError:
            return True
    return False
