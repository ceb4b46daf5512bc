"""The till page carries the Lipa na M-Pesa panel, in English and Kiswahili."""

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_checkout_page_has_the_panel_in_both_languages(cashier):
    client = client_for(cashier)
    page = client.get("/admin/checkout/").content.decode()
    assert 'x-data="c2bPanel"' in page and "pos/c2b.js" in page and "Customer pays by M-Pesa" in page
    client.post("/i18n/language/", {"language": "sw", "next": "/admin/checkout/"})
    page = client.get("/admin/checkout/").content.decode()
    assert "Mteja analipa kwa M-Pesa" in page and "Msimbo kutoka SMS ya mteja" in page
    catalog = client.get("/i18n/catalog.js").content.decode()
    assert "Malipo ya M-Pesa %(what)s yameunganishwa." in catalog
