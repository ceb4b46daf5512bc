"""The manager's side: device initialisation and code tables, the queue page with KRA's reasons, resend
(POST, with permissions), the day's count and check_books."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.fiscal import simulator
from pos.fiscal.models import Call, Code, Device, Document, DocumentStatus, ItemClass, Mode
from pos.fiscal.services import initialise_device, process_outbox, refresh_code_tables, save_device
from pos.fiscal.services.secrets import decrypt
from tests.conftest import client_for
from tests.fiscal.conftest import sell

pytestmark = pytest.mark.django_db(transaction=True)


def test_initialise_keeps_the_key_encrypted_never_shown_and_fetches_code_tables(kra, admin_user, settings):
    device = save_device(Device(pin="P051234567X", branch_id="00", serial="SN-1", mode=Mode.SANDBOX, base_url=kra))
    initialise_device(device)
    device.refresh_from_db()
    key = decrypt(device.cmc_key_encrypted)
    assert device.sdc_id.startswith("KRACU") and device.mrc_no and len(key) == 32
    assert key not in device.cmc_key_encrypted
    init_call = Call.objects.get(path="selectInitOsdcInfo")
    assert init_call.response["data"]["info"]["cmcKey"] == "********"
    page = client_for(admin_user).get(reverse("admin:fiscal_device_change", args=[device.pk])).content.decode()
    assert key not in page and "stored, encrypted (never shown)" in page
    assert all(key not in str(c.request_headers) + str(c.response) for c in Call.objects.all())

    with pytest.raises(ServiceError, match="902"):  # KRA issues the key once
        initialise_device(device)

    counts = refresh_code_tables(device)
    assert counts["codes"] >= 20 and counts["item_classes"] >= 5
    assert Code.objects.get(code_class="04", code="B").name == "B-16.00%"
    assert Code.objects.get(code_class="04", code="A").name == "A-Exempt"
    assert ItemClass.objects.filter(code=settings.ETIMS_DEFAULT_ITEM_CLASS).exists()
    device.refresh_from_db()
    since = device.codes_last_req_dt
    assert since and Call.objects.filter(path="selectCodeList").first().request == {"lastReqDt": "20000101000000"}
    assert refresh_code_tables(device) == {"codes": 0, "item_classes": 0}  # nothing newer since lastReqDt
    assert Call.objects.filter(path="selectCodeList").first().request == {"lastReqDt": since}


def test_queue_page_shows_failures_with_kras_reason_and_the_manager_resends(device, goods, cashier, manager,
                                                                          bookkeeper, shop_till):
    sugar, milk, _ = goods
    sell(cashier, [(sugar, 1)])
    simulator.control(reject=[{"op": "saveTrnsSalesOsdc", "match": "Milk", "code": "996", "msg": "Invalid buyer"}])
    refused = sell(cashier, [(milk, 1)])
    document = Document.objects.get(sale=refused)
    url = reverse("admin:fiscal_document_changelist")
    page = client_for(manager).get(url).content.decode()
    assert "KRA 996: Invalid buyer" in page and refused.receipt_number in page
    assert "eTIMS queue" in page and "eTIMS items" in page  # in the manager's sidebar
    assert 'data-sales-signed="1" data-sales="2"' in page and "Not signed yet: " + refused.receipt_number in page
    assert client_for(cashier).get(url).status_code in (302, 403)

    simulator.control(reject=[])
    body = {"action": "resend", "_selected_action": [document.pk]}
    client_for(bookkeeper).post(url, body)  # may look, may not resend
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert client_for(manager).get(url.replace("changelist", "") + f"{document.pk}/change/").status_code == 200
    client_for(manager).post(url, body)  # queued again, and the (inline) worker signs it
    document.refresh_from_db()
    assert document.status == DocumentStatus.SIGNED and document.invoice_no == 2
    page = client_for(manager).get(url).content.decode()
    assert "Every sale and credit note is signed" in page


def test_api_lists_the_queue_and_resends_with_permission(device, goods, cashier, manager, bookkeeper, api,
                                                        shop_till):
    sugar, milk, _ = goods
    simulator.control(reject=[{"op": "saveTrnsSalesOsdc", "match": "Milk", "code": "996", "msg": "Invalid buyer"}])
    refused = sell(cashier, [(milk, 1)])
    document = Document.objects.get(sale=refused)
    failed = api(bookkeeper).get("/api/fiscal/documents/?status=failed").json()["results"]
    assert [(d["receipt_number"], d["last_error"]) for d in failed] == [(refused.receipt_number,
                                                                        "KRA 996: Invalid buyer")]
    assert api(cashier).get("/api/fiscal/documents/").status_code == 403
    assert api(bookkeeper).post(f"/api/fiscal/documents/{document.pk}/resend/").status_code == 403
    simulator.control(reject=[])
    answer = api(manager).post(f"/api/fiscal/documents/{document.pk}/resend/")
    assert answer.status_code == 200 and answer.json()["status"] == "signed"
    day = api(manager).get("/api/fiscal/day/").json()
    assert day["sales"] == day["sales_signed"] == 1 and day["all_signed"] is True
    assert api(manager).get("/api/fiscal/day/?day=2026-13-01").status_code == 400


def test_check_books_reports_documents_left_unsigned_longer_than_the_setting(device, goods, cashier, shop_till,
                                                                             settings):
    sugar, milk, _ = goods
    sell(cashier, [(milk, 1)])
    simulator.control(down=True)
    sale = sell(cashier, [(sugar, 1)])
    settings.ETIMS_UNSIGNED_ALERT_MINUTES = 30
    out = StringIO()
    call_command("check_books", stdout=out)  # queued a moment ago: not late yet
    assert "etims" not in out.getvalue()
    Document.objects.filter(sale=sale).update(created_at=timezone.now() - timedelta(minutes=31))
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("check_books", stdout=out, stderr=StringIO())
    assert (f"etims: sale (tax invoice) {sale.receipt_number} is not signed (waiting: registering item "
            f"{sugar.fiscal_item.item_code}: HTTP 503 from KRA)" in out.getvalue())
    simulator.control(down=False)
    process_outbox(device, now=timezone.now() + timedelta(hours=1))
    out = StringIO()
    call_command("check_books", stdout=out)
    assert "etims" not in out.getvalue()
