"""KRA misbehaving, over real HTTP to the simulator: down for an hour, answers lost, a refused item,
a refused invoice. The sale itself never waits: it is paid and printed before KRA is asked."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pos.fiscal import simulator
from pos.fiscal.models import Counter, Document, DocumentStatus, FiscalItem, ItemStatus
from pos.fiscal.services import process_outbox, register_changed_items, resend_document, unsigned_documents
from pos.sales.models import SaleStatus
from tests.fiscal.conftest import BRANCH, PIN, sell, take_back

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


def test_kra_down_for_an_hour_then_back_every_document_signed_in_order_none_twice(device, goods, cashier,
                                                                                   manager, shop_till):
    sugar, milk, rice = goods
    first = sell(cashier, [(sugar, 1)])
    assert Document.objects.get(sale=first).status == DocumentStatus.SIGNED

    simulator.control(down=True)
    sales = [sell(cashier, [(sugar, 1), (milk, 2)]), sell(cashier, [(rice, "2.5")])]
    note = take_back(manager, sales[0], milk, 1)
    sales.append(sell(cashier, [(milk, 1)]))
    # every sale completed at once: paid, with a receipt that says it waits for KRA
    assert all(s.status in (SaleStatus.PAID, SaleStatus.PARTIALLY_RETURNED) for s in sales)
    waiting = Document.objects.exclude(sale=first).order_by("pk")
    assert [d.status for d in waiting] == [DocumentStatus.QUEUED] * 4
    assert all(d.invoice_no is None for d in waiting[1:])  # only the head took a number, and keeps it

    # an hour of KRA being down, the clock moved by the runner every minute: back-off, not 60 tries
    start = timezone.now()
    for minute in range(1, 61):
        process_outbox(device, now=start + timedelta(minutes=minute))
    head = Document.objects.exclude(sale=first).order_by("pk").first()
    assert 5 <= head.attempts <= 10, head.attempts
    assert "503" in head.last_error
    assert unsigned_documents(now=start + timedelta(minutes=90))  # check_books sees them

    simulator.control(down=False)
    result = process_outbox(device, now=start + timedelta(minutes=61 + 15))
    assert result["signed"] == 4
    documents = list(Document.objects.order_by("pk"))
    assert [d.status for d in documents] == [DocumentStatus.SIGNED] * 5
    assert [d.invoice_no for d in documents] == [1, 2, 3, 4, 5]
    assert documents[3].sale_return == note and documents[3].original_invoice_no == 2
    seen = simulator.stats(PIN, BRANCH)
    assert [i["trdInvcNo"] for i in seen["invoices"]] == [d.trade_invoice_no for d in documents]
    assert all(i["signings"] == 1 for i in seen["invoices"])
    assert unsigned_documents(now=start + timedelta(minutes=90)) == []


def test_an_answer_lost_after_kra_signed_is_asked_again_and_not_signed_twice(device, goods, cashier, shop_till):
    sugar, milk, _ = goods
    simulator.control(drop=1)
    sale = sell(cashier, [(sugar, 1)])
    document = Document.objects.get(sale=sale)
    assert document.status == DocumentStatus.QUEUED and document.invoice_no == 1 and "504" in document.last_error
    process_outbox(device, now=timezone.now() + timedelta(minutes=5))
    document.refresh_from_db()
    assert document.status == DocumentStatus.SIGNED and document.invoice_no == 1
    invoice = simulator.stats(PIN, BRANCH)["invoices"][0]
    assert invoice["signings"] == 1 and invoice["answers"] == 2 and invoice["rcptSign"] == document.signature
    second = sell(cashier, [(milk, 1)])
    assert Document.objects.get(sale=second).invoice_no == 2


def test_a_refused_item_blocks_only_its_documents_visibly_until_fixed(device, goods, cashier, manager, shop_till):
    sugar, milk, rice = goods
    simulator.control(reject=[{"op": "saveItem", "match": "Rice loose", "code": "995",
                               "msg": "Item classification code is not valid"}])
    a = sell(cashier, [(sugar, 1)])
    b = sell(cashier, [(rice, 1), (sugar, 1)])
    c = sell(cashier, [(milk, 2)])
    docs = {d.sale_id: d for d in Document.objects.all()}
    assert docs[a.pk].status == DocumentStatus.SIGNED and docs[c.pk].status == DocumentStatus.SIGNED
    assert (docs[a.pk].invoice_no, docs[c.pk].invoice_no) == (1, 2)  # no number wasted on the blocked one
    blocked = docs[b.pk]
    assert blocked.status == DocumentStatus.BLOCKED and blocked.invoice_no is None
    assert "Rice loose" in blocked.last_error and "995 Item classification code is not valid" in blocked.last_error
    item = FiscalItem.objects.get(product=rice)
    assert item.status == ItemStatus.REJECTED and item.result_message == "Item classification code is not valid"

    # the manager fixes the item's class; the next resend registers it and the invoice goes out
    simulator.control(reject=[])
    item.item_class = "5010150100"
    item.save()
    resend_document(blocked, user=manager)
    process_outbox(device)
    blocked.refresh_from_db()
    assert blocked.status == DocumentStatus.SIGNED and blocked.invoice_no == 3
    assert FiscalItem.objects.get(product=rice).status == ItemStatus.REGISTERED


def test_an_invoice_kra_refuses_is_shown_with_its_message_and_its_number_given_back(device, goods, cashier,
                                                                                   manager, shop_till):
    sugar, milk, _ = goods
    sell(cashier, [(sugar, 1)])
    simulator.control(reject=[{"op": "saveTrnsSalesOsdc", "match": "Milk", "code": "996",
                               "msg": "Customer PIN is invalid"}])
    refused = sell(cashier, [(milk, 1)])
    after = sell(cashier, [(sugar, 2)])
    document = Document.objects.get(sale=refused)
    assert document.status == DocumentStatus.FAILED and document.invoice_no is None
    assert document.last_error == "KRA 996: Customer PIN is invalid"
    assert Document.objects.get(sale=after).invoice_no == 2  # the refused one's number was given back
    simulator.control(reject=[])
    resend_document(document, user=manager)
    process_outbox(device)
    document.refresh_from_db()
    assert document.status == DocumentStatus.SIGNED and document.invoice_no == 3
    assert Counter.objects.get(device=device, kind="invc").last_number == 3


def test_changed_products_are_registered_again_by_the_sweep(device, goods, cashier, shop_till):
    sugar, milk, rice = goods
    sell(cashier, [(sugar, 1)])
    assert register_changed_items(device)["registered"] == 2  # milk and rice, new
    item = FiscalItem.objects.get(product=milk)
    assert item.item_code.startswith("KE2NTU") and len(item.item_code) == 13 and item.tax_type == "A"
    assert register_changed_items(device) == {"registered": 0, "rejected": 0, "unchanged": 0, "waiting": 0}
    from pos.catalog.services import update_product

    update_product(milk, price=D("70.00"))
    assert register_changed_items(device)["registered"] == 1
    assert simulator.load(f"items:{PIN}")[item.item_code]["dftPrc"] == 70.0


def test_the_sweep_queues_a_paid_sale_whose_enqueue_was_lost_and_a_sale_while_off_is_not_sent(
        device, goods, cashier, manager, shop_till):
    from django.db import connection, transaction

    from pos.fiscal.services import enqueue_missing, save_device
    from pos.fiscal.tasks import sweep

    sugar, milk, rice = goods
    with transaction.atomic():
        lost = sell(cashier, [(sugar, 1)])
        connection.run_on_commit = []  # the process dies right after the commit: no enqueue
    assert not Document.objects.filter(sale=lost).exists()
    assert enqueue_missing(device, older_than_seconds=0) == 1
    process_outbox(device)
    assert Document.objects.get(sale=lost).status == DocumentStatus.SIGNED

    device.mode = "off"
    save_device(device)
    while_off = sell(cashier, [(milk, 1)])
    device.mode = "demo"
    save_device(device)
    assert enqueue_missing(device, older_than_seconds=0) == 0  # sold while eTIMS was off: not sent later
    assert not Document.objects.filter(sale=while_off).exists()
    after = sell(cashier, [(milk, 2)])
    sweep()
    # rice, never sold, is registered by the sweep (a busy KRA may leave it for the next sweep)
    if not FiscalItem.objects.filter(product=rice, status=ItemStatus.REGISTERED).exists():
        sweep()
    assert FiscalItem.objects.get(product=rice).status == ItemStatus.REGISTERED
    assert Document.objects.get(sale=after).invoice_no == 2
