"""KRA slow (answers after our timeout), a replaceable transport with its own authentication, a real
django-q2 worker signing in the background, and the queries the till pays for eTIMS."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pos.fiscal import simulator
from pos.fiscal.models import Call, Document, DocumentStatus
from pos.fiscal.services import enqueue_sale, process_outbox, retry_now
from pos.fiscal.services.transport import OscuTransport
from pos.sales.receipts import receipt_text
from tests.fiscal.conftest import BRANCH, PIN, sell
from tests.qcluster import running_qcluster

pytestmark = pytest.mark.django_db(transaction=True)


def test_kra_too_slow_times_out_and_the_retry_gets_the_same_signature(device, goods, cashier, shop_till, settings):
    sugar, milk, _ = goods
    sell(cashier, [(sugar, 1), (milk, 1)])  # the device is initialised and the items registered
    settings.ETIMS_HTTP_TIMEOUT = 0.3
    simulator.control(slow=1.0)
    started = time.monotonic()
    sale = sell(cashier, [(sugar, 2)])
    document = Document.objects.get(sale=sale)
    assert document.status == DocumentStatus.QUEUED and "Timeout" in document.last_error
    assert time.monotonic() - started < 1.0 + 0.3 + 5  # one call, not a loop of them
    simulator.control(slow=0)
    time.sleep(1.0)  # KRA finishes the slow call (it signs: the answer was only late)
    process_outbox(device, now=timezone.now() + timedelta(minutes=1))
    document.refresh_from_db()
    assert document.status == DocumentStatus.SIGNED and document.invoice_no == 2
    invoice = simulator.stats(PIN, BRANCH)["invoices"][1]
    assert invoice["signings"] == 1 and invoice["rcptSign"] == document.signature


class GatewayTransport(OscuTransport):
    """A gateway that wants an OAuth bearer token in front of the OSCU headers."""

    def auth_headers(self, device, path):
        return {**super().auth_headers(device, path), "Authorization": "Bearer secret-gateway-token"}


def test_the_transport_and_its_authentication_are_replaceable_and_secrets_are_masked(device, goods, cashier,
                                                                                    shop_till, settings):
    settings.ETIMS_TRANSPORT = "tests.fiscal.test_transport_and_worker.GatewayTransport"
    sugar, _, _ = goods
    sale = sell(cashier, [(sugar, 1)])
    assert Document.objects.get(sale=sale).status == DocumentStatus.SIGNED
    headers = Call.objects.get(path="saveTrnsSalesOsdc").request_headers
    assert headers == {"tin": PIN, "bhfId": BRANCH, "cmcKey": "********", "Authorization": "********"}


@pytest.mark.qcluster
def test_a_real_qcluster_worker_signs_the_queued_documents(device, goods, cashier, shop_till):
    from django_q.tasks import async_task

    sugar, milk, _ = goods
    sell(cashier, [(milk, 1)])
    simulator.control(down=True)
    sales = [sell(cashier, [(sugar, 1)]), sell(cashier, [(milk, 2)])]
    assert set(Document.objects.filter(sale__in=sales).values_list("status", flat=True)) == {DocumentStatus.QUEUED}
    simulator.control(down=False)
    retry_now(device)
    with running_qcluster():
        async_task("pos.fiscal.tasks.process_outbox", sync=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Document.objects.exclude(status=DocumentStatus.SIGNED).exists():
            time.sleep(0.5)
    assert list(Document.objects.order_by("pk").values_list("status", "invoice_no")) == [
        ("signed", 1), ("signed", 2), ("signed", 3)]


def test_queueing_a_sale_costs_the_till_a_few_queries_and_a_receipt_a_constant_number(device, goods, cashier,
                                                                                      shop_till):
    sugar, milk, rice = goods
    simulator.control(down=True)  # keep the documents queued: only the enqueue is measured
    small = sell(cashier, [(sugar, 1)])
    Document.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        enqueue_sale(small.pk)
    assert len(queries) <= 4, [q["sql"] for q in queries]
    big = sell(cashier, [(sugar, 1), (milk, 1), (rice, "0.5")] * 10)
    with CaptureQueriesContext(connection) as small_receipt:
        receipt_text(small)
    with CaptureQueriesContext(connection) as big_receipt:
        receipt_text(big)
    assert len(small_receipt) == len(big_receipt) <= 10
