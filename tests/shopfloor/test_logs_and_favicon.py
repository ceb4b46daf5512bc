"""Quiet logs: a client's mistake (unknown barcode, 403, 404) is one INFO line without a traceback; a
server error stays an ERROR with its traceback. The favicon is served, not a 404 on every page."""

import logging

import pytest
from django.test import Client

from tests.conftest import api_client_for


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def console_records():
    """What the console handler of settings.LOGGING prints (its filters applied)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    handler = Collect()
    for spec in settings.LOGGING["filters"].values():
        handler.addFilter(import_string(spec["()"])())
    django_logger = logging.getLogger("django")
    django_logger.addHandler(handler)
    yield handler.records
    django_logger.removeHandler(handler)


@pytest.mark.django_db
def test_an_unknown_barcode_and_a_403_are_info_without_traceback(cashier, console_records):
    client = api_client_for(cashier)
    assert client.get("/api/products/barcode/6161234567890/").status_code == 404
    assert client.post("/api/products/", {"name": "x"}).status_code == 403
    assert Client().get("/admin/no-such-page/").status_code in (302, 404)
    request_records = [r for r in console_records if r.name == "django.request"]
    assert len(request_records) == 2  # once each, not twice
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in request_records)
    assert not [r for r in console_records if r.levelno >= logging.WARNING]


def test_django_logs_go_through_one_handler():
    from django.conf import settings

    django = settings.LOGGING["loggers"]["django"]
    assert django["handlers"] == ["console"] and django["propagate"] is False


@pytest.mark.django_db
def test_a_server_error_keeps_its_traceback(console_records):
    from pos.core.logs import QuietClientErrors

    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x", (),
                               (ValueError, ValueError("boom"), None))
    record.status_code = 500
    assert QuietClientErrors().filter(record) and record.levelno == logging.ERROR and record.exc_info


@pytest.mark.django_db
def test_the_favicon_is_served_and_linked(client, manager):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301 and answer["Location"].endswith("pos/favicon.ico")
    page = client.get("/admin/login/").content.decode()
    assert 'rel="icon" href="/static/pos/favicon.svg"' in page
