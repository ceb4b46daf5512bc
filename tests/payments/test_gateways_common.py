"""What every gateway shares: the registry, phone numbers, cash, base URLs, secrets kept out of logs."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from pos.core.errors import ServiceError
from pos.payments.gateways import get_gateway, normalise_msisdn
from pos.payments.gateways.airtel import AirtelGateway
from pos.payments.gateways.base import redact, wire_amount
from pos.payments.gateways.flutterwave import FlutterwaveGateway
from pos.payments.gateways.mpesa import MpesaGateway


@pytest.mark.parametrize("written", [
    "0708374149", "+254708374149", "254708374149", "708374149", "0708 374 149", "+254 708-374-149",
])
def test_every_spelling_of_the_test_number_becomes_254708374149(written):
    assert normalise_msisdn(written) == "254708374149"


def test_new_01_prefix_numbers_are_kenyan_mobiles_too():
    assert normalise_msisdn("0110123456") == "254110123456"


@pytest.mark.parametrize("written", [
    "", "12345", "07083741490", "0208374149", "255708374149", "+1 708 374 149", "07O8374149", "2547083741",
])
def test_anything_else_is_refused_on_the_phone_number_field(written):
    with pytest.raises(ServiceError) as error:
        normalise_msisdn(written)
    assert error.value.field == "phone_number" and "0712 345 678" in error.value.message


def test_registry_maps_each_method_to_its_gateway(settings):
    settings.CARD_PROVIDER = "flutterwave"
    assert [get_gateway(m).method for m in ("cash", "mpesa", "airtel", "card")] == ["cash", "mpesa", "airtel", "card"]
    assert isinstance(get_gateway("card"), FlutterwaveGateway)
    with pytest.raises(ServiceError) as error:
        get_gateway("bitcoin")
    assert error.value.field == "method"


def test_an_unsupported_card_provider_is_a_configuration_error(settings):
    settings.CARD_PROVIDER = "pesapal"
    with pytest.raises(ImproperlyConfigured, match="pesapal"):
        get_gateway("card")


def test_cash_completes_at_once_and_refunds_at_once(gw_payment):
    payment = gw_payment("cash", "250.00")
    gateway = get_gateway("cash")
    assert gateway.initiate(payment).status == "completed"
    assert gateway.verify(payment).amount == Decimal("250.00")
    assert gateway.refund(payment, Decimal("50.00")).status == "completed"
    assert not payment.events.exists()  # no provider was called


def test_sandbox_is_used_without_credentials_and_the_real_api_with_them(settings):
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:8000/sandbox/"
    settings.MPESA_CONSUMER_KEY = settings.MPESA_CONSUMER_SECRET = ""
    settings.AIRTEL_CLIENT_ID = settings.AIRTEL_CLIENT_SECRET = ""
    settings.FLUTTERWAVE_SECRET_KEY = ""
    assert MpesaGateway().base_url() == "http://127.0.0.1:8000/sandbox/mpesa"
    assert AirtelGateway().base_url() == "http://127.0.0.1:8000/sandbox/airtel"
    assert FlutterwaveGateway().base_url() == "http://127.0.0.1:8000/sandbox/flutterwave"
    settings.MPESA_CONSUMER_KEY, settings.MPESA_CONSUMER_SECRET, settings.MPESA_ENV = "key", "secret", "production"
    settings.AIRTEL_CLIENT_ID, settings.AIRTEL_CLIENT_SECRET, settings.AIRTEL_ENV = "id", "secret", "uat"
    settings.FLUTTERWAVE_SECRET_KEY = "FLWSECK-live"
    assert MpesaGateway().base_url() == "https://api.safaricom.co.ke"
    assert AirtelGateway().base_url() == "https://openapiuat.airtel.africa"
    assert FlutterwaveGateway().base_url() == "https://api.flutterwave.com"


def test_redaction_blanks_secret_keys_at_any_depth_and_hidden_strings():
    logged = redact({"Password": "x", "nested": [{"client_secret": "y", "url": "https://h/cb/TOKEN/"}],
                     "Amount": 5}, hide=["TOKEN"])
    assert logged == {"Password": "***", "nested": [{"client_secret": "***", "url": "https://h/cb/***/"}], "Amount": 5}


def test_amounts_go_on_the_wire_as_json_numbers():
    assert wire_amount(Decimal("100.00")) == 100 and isinstance(wire_amount(Decimal("100.00")), int)
    assert wire_amount(Decimal("99.5")) == 99.5
