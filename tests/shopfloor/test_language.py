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


@pytest.mark.django_db
def test_a_swahili_cashier_gets_the_apis_refusals_in_swahili(cashier, other_cashier, api, product):
    """The API answers a token's user in their language (User.language), whatever the client sends."""
    from pos.sales.services import open_shift

    cashier.language = "sw"
    cashier.save()
    client = api(cashier)
    answer = client.post("/api/sales/sales/", {"items": []}, format="json")
    assert answer.json() == {"items": {"non_field_errors": ["Orodha hii haiwezi kuwa tupu."]}}  # DRF's own
    answer = client.post("/api/sales/sales/", {"items": [{"product": product.pk, "quantity": "1"}]}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "no_open_shift"
    assert answer.json()["shift"] == ["Fungua zamu kabla ya kuuza."]
    open_shift(cashier, "500.00")
    answer = client.post("/api/sales/sales/", {"items": [{"product": product.pk, "quantity": "1,5"}]}, format="json")
    assert answer.status_code == 400 and "tumia nukta kwa desimali (1.5), si koma" in str(answer.json())
    answer = client.post("/api/sales/sales/", {"items": [{"product": product.pk, "quantity": "999"}]}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "insufficient_stock"
    assert answer.json()["items"][0].startswith(f"Hakuna hisa ya kutosha ya {product.name}:")
    # the same refusal to a cashier who chose English stays English, whatever their client asks for
    other_cashier.language = "en"
    other_cashier.save()
    open_shift(other_cashier, "500.00")
    answer = api(other_cashier).post("/api/sales/sales/", {"items": [{"product": product.pk, "quantity": "999"}]},
                                     format="json", HTTP_ACCEPT_LANGUAGE="sw")
    assert answer.json()["items"][0].startswith(f"Not enough stock for {product.name}:")


@pytest.mark.django_db
def test_switching_language_is_kept_on_the_user(cashier):
    client = client_for(cashier)
    client.post("/i18n/language/", {"language": "sw"})
    cashier.refresh_from_db()
    assert cashier.language == "sw"
    fresh = client_for(cashier)  # another browser, a new session: still Kiswahili
    assert "Kikapu ni tupu" in fresh.get("/admin/checkout/").content.decode()
    answer = fresh.post("/api/sales/sales/", {"items": []}, content_type="application/json")
    assert answer.json() == {"items": {"non_field_errors": ["Orodha hii haiwezi kuwa tupu."]}}


@pytest.mark.django_db
def test_the_back_office_in_swahili_unfolds_words_and_djangos(manager, product):
    """Django's admin ships Kiswahili; unfold ships none: its words are in our catalogue."""
    client = client_for(manager)
    client.post("/i18n/language/", {"language": "sw"})
    page = client.get("/admin/catalog/product/").content.decode()
    for unfold_word in ("Andika kutafuta", "Vichujio", "Tumia vichujio", "Chagua kitendo", "Mwanga", "Giza",
                        "Hamisha", "Ingiza"):
        assert unfold_word in page, unfold_word
    assert "Toka" in page and "Orodha ya bidhaa" in page and "Kaunta" in page  # Django's; our menu
    change = client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert "Hifadhi" in change and "Rudi nyuma" in change


@pytest.mark.django_db
def test_a_swahili_cashier_gets_cash_out_and_offline_sync_refusals_in_swahili(cashier, api, product, settings):
    import uuid
    from decimal import Decimal

    from pos.sales.services import open_shift
    from pos.tills import services as tills
    from tests.offline.conftest import offline_body

    cashier.language = "sw"
    cashier.save()
    client = api(cashier)
    till = tills.register_till(uuid.uuid4(), user=cashier, name="Front")
    tills.reserve_block(till, user=cashier, size=5)
    price = str(product.price)
    payments = [{"method": "cash", "amount": price, "tendered": price}]
    answer = client.post("/api/sales/sales/", offline_body(till, 1, [(product, 1, price, "0")], payments),
                         format="json")
    assert answer.status_code == 400
    assert answer.json()["shift"] == ["Keshia huyu hana zamu: fungua zamu, kisha tuma tena."]
    answer = client.post("/api/sales/sales/", offline_body(till, 7, [(product, 1, price, "0")], payments),
                         format="json")
    assert answer.status_code == 400
    assert answer.json()["number"] == [f"Risiti {till.code}OFF-000007 haikuwahi kutengwa kwa kaunta {till.code}."]

    answer = client.post("/api/sales/cash-movements/", {"kind": "out", "amount": "100", "reason": "Benki"},
                         format="json")
    assert answer.json()["shift"] == ["Fungua zamu kwanza: pesa kuingia na kutoka huhesabiwa ndani ya zamu."]
    assert client.get("/api/sales/shifts/current/").json() == {"detail": "Hakuna zamu iliyo wazi."}
    open_shift(cashier, Decimal("5000.00"))
    settings.CASH_OUT_AUTHORISATION_LIMIT = Decimal("2000")
    answer = client.post("/api/sales/cash-movements/", {"kind": "out", "amount": "2000.01", "reason": "Benki"},
                         format="json")
    assert answer.status_code == 403
    assert answer.json()["manager_pin"] == ["Pesa kutoka zaidi ya 2000 inahitaji meneja: mwombe meneja aandike PIN "
                                            "yake."]


@pytest.mark.django_db
def test_a_swahili_cashier_reads_the_status_in_a_refusal_in_swahili(cashier, manager, api, product):
    from decimal import Decimal

    from pos.inventory.services import adjust_stock
    from pos.payments.models import Payment
    from pos.sales.services import open_shift

    cashier.language = "sw"
    cashier.save()
    client = api(cashier)
    adjust_stock(product, Decimal(5), user=manager, reason="opening stock")
    open_shift(cashier, Decimal("500.00"))
    sale = client.post("/api/sales/sales/", {"items": [{"product": product.pk, "quantity": "1"}]}, format="json").json()
    assert client.post(f"/api/sales/sales/{sale['id']}/pay_cash/", {"amount_tendered": "100000.00"},
                       format="json").status_code == 200
    answer = client.post(f"/api/sales/sales/{sale['id']}/cancel/", {"reason": "kosa"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["status"] == [f"Mauzo {sale['receipt_number']} hayawezi kughairiwa (hali: imelipwa); "
                                       "pokea marejesho badala yake."]
    payment = Payment.objects.get(sale_id=sale["id"])
    answer = client.post(f"/api/payments/payments/{payment.pk}/cancel/", {"reason": "kosa"}, format="json")
    assert answer.json()["status"] == ["Ni malipo yanayoendelea tu yanayoweza kughairiwa; hali ya malipo haya: "
                                       "imekamilika."]
    assert client.get(f"/api/sales/sales/{sale['id']}/").json()["status_display"] == "Imelipwa"
