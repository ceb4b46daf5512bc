"""The manager's view: tills holding unsynced sales and when each last synced; flagged offline sales."""

import pytest

from pos.tills import services as tills
from pos.tills.models import OfflineSale
from tests.conftest import client_for
from tests.offline.conftest import offline_body

pytestmark = pytest.mark.django_db


def test_manager_sees_tills_with_unsynced_sales_and_reviews_a_flagged_sale(api, manager, cashier, till, stocked,
                                                                             shift):
    tills.report_status(till, user=cashier, unsynced=4)
    page = client_for(manager).get("/admin/tills/till/?unsynced=yes")
    assert page.status_code == 200
    html = page.content.decode()
    assert "T01" in html and "4 unsynced" in html
    tills.reserve_block(till, user=cashier, size=5)
    body = offline_body(till, 1, [(stocked["milk"], 21, "65.00", "0")],
                        [{"method": "cash", "amount": "1365.00", "amount_tendered": "1400.00"}], shift=shift)
    assert api(cashier).post("/api/sales/sales/", body, format="json").status_code == 201
    offline = OfflineSale.objects.get()
    listing = client_for(manager).get("/admin/tills/offlinesale/?needs_attention__exact=1")
    assert listing.status_code == 200 and "T01OFF-000001" in listing.content.decode()
    answer = client_for(manager).post("/admin/tills/offlinesale/", {"action": "mark_reviewed",
                                                                     "_selected_action": [offline.pk]})
    assert answer.status_code == 302
    offline.refresh_from_db()
    assert not offline.needs_attention and offline.reviewed_by == manager


def test_cashier_cannot_mark_offline_sales_reviewed(cashier, till):
    page = client_for(cashier).get("/admin/tills/offlinesale/")
    assert page.status_code in (302, 403)
