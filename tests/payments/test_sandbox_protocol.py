"""The simulators answer like the providers when spoken to directly (no gateway in between)."""

import base64
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from pos.payments.sandbox import state as sandbox_state

PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def mpesa_token(base):
    response = requests.get(f"{base}/sandbox/mpesa/oauth/v1/generate", params={"grant_type": "client_credentials"},
                            auth=("key", "secret"), timeout=10)
    assert response.status_code == 200 and response.json()["expires_in"] == "3599"
    return response.json()["access_token"]


def stk_body(**changes):
    timestamp = datetime.now().strftime("%Y%m%d%H%M%S")
    body = {
        "BusinessShortCode": "174379",
        "Password": base64.b64encode(f"174379{PASSKEY}{timestamp}".encode()).decode(),
        "Timestamp": timestamp, "TransactionType": "CustomerPayBillOnline", "Amount": 10,
        "PartyA": "254708374149", "PartyB": "174379", "PhoneNumber": "254708374149",
        "CallBackURL": "http://127.0.0.1:9/cb", "AccountReference": "S-000001", "TransactionDesc": "Sale S-000001",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def stk_push(base, token, body):
    return requests.post(f"{base}/sandbox/mpesa/mpesa/stkpush/v1/processrequest", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_token_needs_basic_credentials_and_the_grant_type(sandbox):
    url = f"{sandbox.url}/sandbox/mpesa/oauth/v1/generate"
    no_auth = requests.get(url, params={"grant_type": "client_credentials"}, timeout=10)
    assert no_auth.status_code == 400 and no_auth.json()["errorCode"] == "400.008.01"
    no_grant = requests.get(url, auth=("key", "secret"), timeout=10)
    assert no_grant.json()["errorCode"] == "400.008.02"
    assert sandbox_state.tokens_issued("mpesa") == 0


def test_a_new_mpesa_token_invalidates_the_previous_one(sandbox):
    old = mpesa_token(sandbox.url)
    new = mpesa_token(sandbox.url)
    refused = stk_push(sandbox.url, old, stk_body())
    assert refused.status_code == 404
    assert refused.json()["errorCode"] == "404.001.03" and refused.json()["errorMessage"] == "Invalid Access Token"
    assert stk_push(sandbox.url, new, stk_body()).json()["ResponseCode"] == "0"
    assert sandbox_state.tokens_issued("mpesa") == 2


@pytest.mark.parametrize("changes, field", [
    ({"AccountReference": None}, "AccountReference"),
    ({"AccountReference": "THIRTEEN-CHAR"}, "AccountReference"),
    ({"TransactionDesc": "fourteen chars"}, "TransactionDesc"),
    ({"Amount": 10.5}, "Amount"),
    ({"Amount": 0}, "Amount"),
    ({"PhoneNumber": "0708374149"}, "PhoneNumber"),
    ({"Timestamp": "2024-01-01"}, "Timestamp"),
    ({"TransactionType": "CustomerPayBill"}, "TransactionType"),
    ({"CallBackURL": "callback"}, "CallBackURL"),
])
def test_invalid_stk_fields_are_named_like_daraja_does(sandbox, changes, field):
    answer = stk_push(sandbox.url, mpesa_token(sandbox.url), stk_body(**changes))
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "400.002.02" and answer.json()["errorMessage"] == f"Bad Request - Invalid {field}"


def test_a_wrong_password_is_wrong_credentials(sandbox):
    body = stk_body()
    body["Password"] = base64.b64encode(f"174379wrongpasskey{body['Timestamp']}".encode()).decode()
    answer = stk_push(sandbox.url, mpesa_token(sandbox.url), body)
    assert answer.status_code == 500
    assert answer.json()["errorCode"] == "500.001.1001" and answer.json()["errorMessage"] == "Wrong credentials"


def test_a_paybill_push_to_another_party_b_fails_with_2028(sandbox, callback_catcher):
    body = stk_body(PartyB="600000", CallBackURL=f"{callback_catcher.url}/cb")
    assert stk_push(sandbox.url, mpesa_token(sandbox.url), body).json()["ResponseCode"] == "0"
    [callback] = callback_catcher.wait(1)
    assert callback["json"]["Body"]["stkCallback"]["ResultCode"] == 2028


def test_airtel_needs_a_valid_token_and_the_country_headers(sandbox):
    base = f"{sandbox.url}/sandbox/airtel"
    token = requests.post(f"{base}/auth/oauth2/token", json={"client_id": "a", "client_secret": "b",
                                                             "grant_type": "client_credentials"}, timeout=10).json()
    assert token["expires_in"] == "180" and token["token_type"] == "bearer"
    no_token = requests.get(f"{base}/standard/v1/payments/X1", headers={"X-Country": "KE", "X-Currency": "KES"},
                            timeout=10)
    assert no_token.status_code == 401 and no_token.json()["status"]["success"] is False
    no_headers = requests.get(f"{base}/standard/v1/payments/X1",
                              headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert no_headers.status_code == 400
    missing = requests.post(f"{base}/merchant/v1/payments/", json={"reference": "S-1"}, timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}", "X-Country": "KE", "X-Currency": "KES"})
    assert missing.status_code == 400 and "subscriber.msisdn" in missing.json()["status"]["message"]


def test_flutterwave_refuses_a_wrong_key_and_incomplete_payments(sandbox):
    url = f"{sandbox.url}/sandbox/flutterwave/v3/payments"
    wrong = requests.post(url, json={}, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    assert wrong.json() == {"status": "error", "message": "Invalid authorization key", "data": None}
    incomplete = requests.post(url, json={"tx_ref": "T1", "amount": 10, "currency": "KES",
                                          "redirect_url": "http://x/"},
                               headers={"Authorization": "Bearer FLWSECK_TEST-x"}, timeout=10)
    assert incomplete.status_code == 400 and incomplete.json()["message"] == "customer.email is required"


def test_unknown_hosted_page_is_a_404(sandbox):
    assert requests.get(f"{sandbox.url}/sandbox/flutterwave/pay/NOPE/", timeout=10).status_code == 404


def test_a_simulator_is_off_once_its_provider_has_real_credentials(sandbox, settings):
    settings.MPESA_CONSUMER_KEY, settings.MPESA_CONSUMER_SECRET = "real-key", "real-secret"
    settings.FLUTTERWAVE_SECRET_KEY = "FLWSECK-real"
    off = requests.get(f"{sandbox.url}/sandbox/mpesa/oauth/v1/generate?grant_type=client_credentials",
                       auth=("k", "s"), timeout=10)
    assert off.status_code == 404
    assert requests.post(f"{sandbox.url}/sandbox/flutterwave/simulate/T1/", json={}, timeout=10).status_code == 404
    airtel = requests.post(f"{sandbox.url}/sandbox/airtel/auth/oauth2/token", json={
        "client_id": "a", "client_secret": "b", "grant_type": "client_credentials"}, timeout=10)
    assert airtel.status_code == 200  # Airtel still has no credentials here
    settings.SANDBOX_ENABLED = False
    assert requests.post(f"{sandbox.url}/sandbox/airtel/auth/oauth2/token", json={}, timeout=10).status_code == 404


def test_run_sandbox_serves_the_simulators_on_its_own_port(sandbox, unused_port):
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.test_settings")
    server = subprocess.Popen([sys.executable, "manage.py", "run_sandbox", "--port", str(unused_port)],
                              cwd=django_settings.BASE_DIR, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{unused_port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                token = mpesa_token(base)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, server.stdout.read1().decode()
                time.sleep(0.2)
        assert stk_push(base, token, stk_body()).json()["ResponseCode"] == "0"
        assert requests.get(f"{base}/admin/", timeout=10).status_code == 404  # the sandbox alone
        assert sandbox_state.tokens_issued("mpesa") == 1  # same shared cache as this process
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
