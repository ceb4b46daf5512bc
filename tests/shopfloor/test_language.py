"""English and Kiswahili: the shop's default from settings, each user's choice in their session."""

import pytest
from django.test import override_settings

from tests.conftest import client_for


@pytest.mark.django_db
def test_a_user_switches_to_swahili_and_it_stays_in_their_session(cashier, manager):
    client = client_for(cashier)
    assert "Kikapu ni tupu" not in client.get("/admin/checkout/").content.decode()
    answer = client.post("/i18n/language/", {"language": "sw", "next": "/admin/checkout/"})
    assert answer.status_code == 302 and answer["Location"] == "/admin/checkout/"
    page = client.get("/admin/checkout/").content.decode()
    assert "Kikapu ni tupu: changanua bidhaa." in page and 'lang="sw"' in page
    assert "Njia za mkato za kibodi" in page and "tafuta bidhaa kwa jina" in page  # shortcuts too
    assert "Kikapu ni tupu" not in client_for(manager).get("/admin/checkout/").content.decode()  # per user


@pytest.mark.django_db
def test_unknown_languages_and_foreign_redirects_are_refused(cashier):
    client = client_for(cashier)
    answer = client.post("/i18n/language/", {"language": "fr", "next": "https://evil.example/"})
    assert answer["Location"] == "/admin/"
    assert "Kikapu" not in client.get("/admin/checkout/").content.decode()


@pytest.mark.django_db
def test_the_shops_default_language_is_a_setting(cashier):
    with override_settings(LANGUAGE_CODE="sw"):
        page = client_for(cashier).get("/admin/checkout/", HTTP_ACCEPT_LANGUAGE="").content.decode()
    assert "Kikapu ni tupu" in page


@pytest.mark.django_db
def test_the_cashiers_messages_and_menus_in_swahili(cashier, manager):
    client = client_for(cashier)
    client.post("/i18n/language/", {"language": "sw"})
    catalog = client.get("/i18n/catalog.js").content.decode()
    # The till words an unknown scan itself, from the JavaScript catalogue.
    assert "Msimbo %(code)s haujulikani" in catalog
    assert "Changanua bidhaa kwanza." in catalog
    back_office = client_for(manager)
    back_office.post("/i18n/language/", {"language": "sw"})
    sidebar = back_office.get("/admin/").content.decode()
    assert "Orodha ya bidhaa" in sidebar and "Kuhesabu hisa" in sidebar  # the menus
