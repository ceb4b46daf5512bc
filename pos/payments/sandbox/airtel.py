"""Airtel Money Open API simulator: token, collection, status enquiry, refund, callbacks.

The callback goes to the URL an Airtel merchant sets in the portal: here SANDBOX_AIRTEL_CALLBACK_URL,
else PUBLIC_BASE_URL + /api/payments/webhooks/airtel/callback/. With AIRTEL_CALLBACK_SECRET set the
callback carries `hash` = base64(HMAC-SHA256(secret, compact JSON of the transaction object)).
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST

from pos.payments.sandbox import state
from pos.payments.sandbox.http import (
    bearer,
    callback_delay,
    deliver,
    json_body,
    simulator,
)
from pos.payments.sandbox.scenarios import airtel_scenario

TOKEN_LIFETIME = 180


def status_answer(http_status: int, message: str, *, response_code="", result_code="ESB000001", data=None):
    body = {"status": {"code": str(http_status), "message": message, "result_code": result_code,
                       "response_code": response_code, "success": http_status == 200}}
    if data is not None:
        body = {"data": data, **body}
    return JsonResponse(body, status=http_status)


def token_refused(request):
    token = bearer(request)
    if not token or not state.load(f"airtel:token:{token}"):
        return status_answer(401, "Authorization failed: invalid or expired token", result_code="ESB000041")
    if not request.headers.get("X-Country") or not request.headers.get("X-Currency"):
        return status_answer(400, "X-Country and X-Currency headers are required", result_code="ESB000008")
    return None


@simulator("airtel")
@require_POST
def token(request):
    body = json_body(request) or {}
    if body.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type", "error_description": "grant_type must be "
                                                                                      "client_credentials"}, status=400)
    if not body.get("client_id") or not body.get("client_secret"):
        return JsonResponse({"error": "invalid_client", "error_description": "Client authentication failed"},
                            status=401)
    access_token = secrets.token_urlsafe(24)
    state.save(f"airtel:token:{access_token}", 1, TOKEN_LIFETIME)
    state.count("airtel:tokens_issued")
    return JsonResponse({"access_token": access_token, "expires_in": str(TOKEN_LIFETIME), "token_type": "bearer"})


def collection_problem(body):
    subscriber = body.get("subscriber") if isinstance(body.get("subscriber"), dict) else {}
    transaction = body.get("transaction") if isinstance(body.get("transaction"), dict) else {}
    try:
        amount = Decimal(str(transaction.get("amount")))
    except InvalidOperation:
        amount = Decimal(0)
    checks = {
        "reference": bool(body.get("reference")),
        "subscriber.msisdn": re.fullmatch(r"\d{9}", str(subscriber.get("msisdn", ""))),
        "subscriber.country": bool(subscriber.get("country")),
        "transaction.amount": amount > 0,
        "transaction.id": bool(transaction.get("id")),
        "transaction.currency": bool(transaction.get("currency")),
    }
    return next((name for name, ok in checks.items() if not ok), None)


@simulator("airtel")
@require_POST
def collect(request):
    refused = token_refused(request)
    if refused:
        return refused
    body = json_body(request) or {}
    problem = collection_problem(body)
    if problem:
        return status_answer(400, f"Invalid or missing {problem}", result_code="ESB000008")
    transaction = body["transaction"]
    tx_id = str(transaction["id"])
    scenario = airtel_scenario(str(body["subscriber"]["msisdn"]))
    tx = {
        "id": tx_id, "msisdn": body["subscriber"]["msisdn"], "amount": str(transaction["amount"]),
        "currency": transaction["currency"], "reference": body["reference"], "status": scenario.status,
        "response_code": scenario.response_code, "message": scenario.message,
        "ambiguous_first": scenario.ambiguous_first, "ready_at": time.time() + callback_delay(), "refunded": False,
        "airtel_money_id": f"MP{datetime.now():%y%m%d.%H%M}.{secrets.choice(string.ascii_uppercase)}{secrets.randbelow(10**5):05d}",
    }
    if not state.claim(f"airtel:tx:{tx_id}", tx, state.DAY):
        return status_answer(400, "Duplicate transaction id", result_code="ESB000014", response_code="DP00800001000")
    state.save(f"airtel:money-id:{tx['airtel_money_id']}", tx_id)
    if scenario.callback:
        deliver(callback_url(), callback_body(tx))
    return status_answer(200, "SUCCESS", result_code="ESB000010", response_code="DP00800001006",
                         data={"transaction": {"id": tx_id, "status": "SUCCESS"}})


def callback_url() -> str:
    return getattr(settings, "SANDBOX_AIRTEL_CALLBACK_URL", "") or \
        settings.PUBLIC_BASE_URL.rstrip("/") + "/api/payments/webhooks/airtel/callback/"


def callback_body(tx) -> dict:
    transaction = {"id": tx["id"], "message": tx["message"], "status_code": tx["status"],
                   "airtel_money_id": tx["airtel_money_id"] if tx["status"] == "TS" else ""}
    body = {"transaction": transaction}
    if settings.AIRTEL_CALLBACK_SECRET:
        message = json.dumps(transaction, separators=(",", ":")).encode()
        digest = hmac.new(settings.AIRTEL_CALLBACK_SECRET.encode(), message, hashlib.sha256).digest()
        body["hash"] = base64.b64encode(digest).decode()
    return body


@simulator("airtel")
@require_GET
def enquiry(request, transaction_id):
    refused = token_refused(request)
    if refused:
        return refused
    tx = state.load(f"airtel:tx:{transaction_id}")
    if tx is None:
        return status_answer(404, "Transaction not found", result_code="ESB000001", response_code="DP00800001000")
    if tx["ambiguous_first"] and state.count(f"airtel:queries:{transaction_id}") == 1:
        code, response_code, message = "TA", "DP00800001000", "Transaction is ambiguous"
    elif time.time() < tx["ready_at"]:
        code, response_code, message = "TIP", "DP00800001006", "Transaction in progress"
    else:
        code, response_code, message = tx["status"], tx["response_code"], tx["message"]
    transaction = {"id": tx["id"], "message": message, "status": code,
                   "airtel_money_id": tx["airtel_money_id"] if code == "TS" else ""}
    return status_answer(200, "SUCCESS", result_code="ESB000010", response_code=response_code,
                         data={"transaction": transaction})


@simulator("airtel")
@require_POST
def refund(request):
    refused = token_refused(request)
    if refused:
        return refused
    body = json_body(request) or {}
    money_id = str((body.get("transaction") or {}).get("airtel_money_id", "")) \
        if isinstance(body.get("transaction"), dict) else ""
    if not money_id:
        return status_answer(400, "Invalid or missing transaction.airtel_money_id", result_code="ESB000008")
    tx_id = state.load(f"airtel:money-id:{money_id}")
    tx = state.load(f"airtel:tx:{tx_id}") if tx_id else None
    if tx is None or tx["status"] != "TS" or tx["refunded"]:
        return status_answer(400, "Transaction is not eligible for refund", result_code="ESB000001",
                             response_code="DP00800001008")
    tx["refunded"] = True
    state.save(f"airtel:tx:{tx_id}", tx)
    refund_id = f"RF{datetime.now():%y%m%d.%H%M}.{secrets.randbelow(10**6):06d}"
    scenario = airtel_scenario(str(tx["msisdn"]))
    # The refund is a transaction of its own: its enquiry (GET /standard/v1/payments/<refund id>) answers.
    state.save(f"airtel:tx:{refund_id}", {
        "id": refund_id, "msisdn": tx["msisdn"], "amount": tx["amount"], "currency": tx["currency"],
        "reference": tx["id"], "status": "TS", "response_code": "DP00800001001", "message": "Refund successful",
        "ambiguous_first": False, "refunded": False, "airtel_money_id": refund_id,
        "ready_at": time.time() + (callback_delay() if scenario.refund_answer == "in_process" else 0)})
    if scenario.refund_answer == "portal":  # as the developer portal shows it: success false, yet SUCCESS
        body = {"data": {"transaction": {"airtel_money_id": refund_id, "status": "SUCCESS"}},
                "status": {"code": "200", "message": "SUCCESS", "result_code": "ESB000010", "success": False}}
        return JsonResponse(body, status=200)
    if scenario.refund_answer == "in_process":
        return status_answer(200, "IN PROCESS", result_code="ESB000010", response_code="DP00800001006",
                             data={"transaction": {"airtel_money_id": refund_id, "status": "TIP"}})
    return status_answer(200, "SUCCESS", result_code="ESB000010", response_code="DP00800001001",
                         data={"transaction": {"airtel_money_id": refund_id, "status": "SUCCESS"}})
