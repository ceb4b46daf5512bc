"""Daraja simulator: OAuth, STK Push, STK Query, reversal, with the callbacks sent for real.

Paths and bodies are Daraja's (see /work/shared/gateways.md); scenarios in scenarios.py.
"""

import base64
import binascii
import re
import secrets
import string
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from pos.payments.sandbox import state
from pos.payments.sandbox.http import (
    bearer,
    callback_delay,
    deliver,
    json_body,
    simulator,
)
from pos.payments.sandbox.scenarios import MPESA_WRONG_PARTY_B, mpesa_scenario

TOKEN_LIFETIME = 3599
IN_PROCESS_WINDOW = 120
PAYBILL, TILL = "CustomerPayBillOnline", "CustomerBuyGoodsOnline"
STK_FIELDS = ("BusinessShortCode", "Password", "Timestamp", "TransactionType", "Amount", "PartyA", "PartyB",
              "PhoneNumber", "CallBackURL", "AccountReference", "TransactionDesc")
QUERY_FIELDS = ("BusinessShortCode", "Password", "Timestamp", "CheckoutRequestID")
REVERSAL_FIELDS = ("Initiator", "SecurityCredential", "CommandID", "TransactionID", "Amount", "ReceiverParty",
                   "RecieverIdentifierType", "ResultURL", "QueueTimeOutURL", "Remarks")
STATUS_FIELDS = ("Initiator", "SecurityCredential", "CommandID", "PartyA", "IdentifierType", "ResultURL",
                 "QueueTimeOutURL")


def slow_seconds() -> float:
    return float(getattr(settings, "SANDBOX_SLOW_SECONDS", 14))


def query_lag() -> float:
    return float(getattr(settings, "SANDBOX_QUERY_LAG", 5))
MSISDN = re.compile(r"254[17]\d{8}")


def digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def daraja_error(http_status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"requestId": f"{digits(5)}-{digits(8)}-1", "errorCode": code, "errorMessage": message},
                        status=http_status)


def invalid(field: str) -> JsonResponse:
    return daraja_error(400, "400.002.02", f"Bad Request - Invalid {field}")


def whole_amount(value):
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return int(amount) if amount == amount.to_integral_value() and amount >= 1 else None


def is_url(value) -> bool:
    return isinstance(value, str) and re.match(r"https?://[^\s/]+", value) is not None


def token_refused(request):
    """Daraja keeps one token per app: asking for a new one invalidates the previous one."""
    current = state.load("mpesa:token")
    given = bearer(request)
    if not given or not current or given != current["token"] or current["expires"] < time.time():
        return daraja_error(404, "404.001.03", "Invalid Access Token")
    return None


def password_ok(body) -> bool:
    expected = f"{body['BusinessShortCode']}{settings.MPESA_PASSKEY}{body['Timestamp']}"
    try:
        return base64.b64decode(str(body["Password"]), validate=True).decode() == expected
    except (binascii.Error, UnicodeDecodeError):
        return False


def timestamp_ok(value) -> bool:
    try:
        datetime.strptime(str(value), "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return len(str(value)) == 14


def first_missing(body, fields):
    return next((name for name in fields if body.get(name) in (None, "")), None)


@simulator("mpesa")
@require_GET
def oauth(request):
    if request.GET.get("grant_type") != "client_credentials":
        return daraja_error(400, "400.008.02", "Invalid grant type passed")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        key, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        key = secret = ""
    if scheme.lower() != "basic" or not key or not secret:
        return daraja_error(400, "400.008.01", "Invalid Authentication passed")
    token = secrets.token_urlsafe(21)
    state.save("mpesa:token", {"token": token, "expires": time.time() + TOKEN_LIFETIME})
    state.count("mpesa:tokens_issued")
    return JsonResponse({"access_token": token, "expires_in": str(TOKEN_LIFETIME)})


def stk_problem(body):
    """The first field Daraja would call invalid, or None."""
    missing = first_missing(body, STK_FIELDS)
    if missing:
        return missing
    checks = {
        "BusinessShortCode": re.fullmatch(r"\d{5,7}", str(body["BusinessShortCode"])),
        "Timestamp": timestamp_ok(body["Timestamp"]),
        "TransactionType": body["TransactionType"] in (PAYBILL, TILL),
        "Amount": whole_amount(body["Amount"]) is not None,
        "PartyA": MSISDN.fullmatch(str(body["PartyA"])),
        "PartyB": re.fullmatch(r"\d{5,7}", str(body["PartyB"])),
        "PhoneNumber": MSISDN.fullmatch(str(body["PhoneNumber"])),
        "CallBackURL": is_url(body["CallBackURL"]),
        "AccountReference": len(str(body["AccountReference"])) <= 12,
        "TransactionDesc": len(str(body["TransactionDesc"])) <= 13,
    }
    return next((name for name, ok in checks.items() if not ok), None)


def checked_request(request, problem):
    """What every Daraja call checks first, in its order: the bearer token, a JSON body, then the first
    invalid field (`problem(body)` names it). Returns (body, None), or (None, the error answer)."""
    refused = token_refused(request)
    if refused:
        return None, refused
    body = json_body(request)
    if body is None:
        return None, invalid("Body")
    bad = problem(body)
    if bad:
        return None, invalid(bad)
    return body, None


def resolved(tx) -> bool:
    """The simulated customer has acted (the delay has passed) and the transaction has a result."""
    return tx["resolves"] and time.time() >= tx["ready_at"]


@simulator("mpesa")
@require_POST
def stk_push(request):
    body, error = checked_request(request, stk_problem)
    if error:
        return error
    if not password_ok(body):
        return daraja_error(500, "500.001.1001", "Wrong credentials")
    phone, amount = str(body["PhoneNumber"]), whole_amount(body["Amount"])
    checkout_id = f"ws_CO_{datetime.now():%d%m%Y%H%M%S}{digits(6)}"
    lock = f"mpesa:in-process:{phone}:{amount}"
    if not state.claim(lock, checkout_id, IN_PROCESS_WINDOW):
        other = state.load(f"mpesa:stk:{state.load(lock)}")
        if other and not resolved(other):
            return daraja_error(500, "500.001.1001", "Unable to lock subscriber, a transaction is already in "
                                                      "process for the current subscriber")
        state.save(lock, checkout_id, IN_PROCESS_WINDOW)
    scenario = mpesa_scenario(phone)
    if body["TransactionType"] == PAYBILL and str(body["PartyB"]) != str(body["BusinessShortCode"]):
        scenario = MPESA_WRONG_PARTY_B
    delay = callback_delay()
    tx = {
        "checkout_id": checkout_id, "merchant_id": f"{digits(5)}-{digits(8)}-1", "phone": phone, "amount": amount,
        "callback_url": body["CallBackURL"], "result_code": scenario.result_code, "result_desc": scenario.result_desc,
        "receipt": "", "ready_at": time.time() + delay + (query_lag() if scenario.query_lag else 0),
        "resolves": scenario.resolves, "reversed": 0, "slow_query": scenario.slow_query,
        "reversal_timeout": scenario.reversal_timeout,
    }
    if scenario.result_code == 0:
        tx["receipt"] = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))
        state.save(f"mpesa:receipt:{tx['receipt']}", checkout_id)
        from pos.c2b.sandbox import remember_stk  # Pull Transactions (pos.c2b) lists what was processed

        remember_stk(tx, body)
    state.save(f"mpesa:stk:{checkout_id}", tx)
    if scenario.callbacks:
        deliver(tx["callback_url"], stk_callback(tx), times=scenario.callbacks, delay=delay)
    if scenario.answer == "error500":  # Daraja acted, but the answer we send is not its answer
        return HttpResponse("<html><body><h1>500 Internal Server Error</h1></body></html>", status=500,
                            content_type="text/html")
    if scenario.answer == "slow":
        time.sleep(slow_seconds())
    return JsonResponse({
        "MerchantRequestID": tx["merchant_id"], "CheckoutRequestID": checkout_id, "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    })


def stk_callback(tx) -> dict:
    stk = {"MerchantRequestID": tx["merchant_id"], "CheckoutRequestID": tx["checkout_id"],
           "ResultCode": tx["result_code"], "ResultDesc": tx["result_desc"]}
    if not isinstance(tx["result_code"], int):  # real callbacks carry such codes as strings
        stk["ResultCode"] = str(tx["result_code"])
    if tx["result_code"] == 0:
        stk["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": float(tx["amount"])},
            {"Name": "MpesaReceiptNumber", "Value": tx["receipt"]},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": int(datetime.now().strftime("%Y%m%d%H%M%S"))},
            {"Name": "PhoneNumber", "Value": int(tx["phone"])},
        ]}
    return {"Body": {"stkCallback": stk}}


@simulator("mpesa")
@require_POST
def stk_query(request):
    body, error = checked_request(request, lambda body: first_missing(body, QUERY_FIELDS))
    if error:
        return error
    if not password_ok(body):
        return daraja_error(500, "500.001.1001", "Wrong credentials")
    tx = state.load(f"mpesa:stk:{body['CheckoutRequestID']}")
    if tx is None:
        return invalid("CheckoutRequestID")
    if tx.get("slow_query"):
        time.sleep(slow_seconds())
    if not resolved(tx):
        return daraja_error(500, "500.001.1001", "The transaction is being processed")
    return JsonResponse({
        "ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
        "MerchantRequestID": tx["merchant_id"], "CheckoutRequestID": tx["checkout_id"],
        "ResultCode": str(tx["result_code"]), "ResultDesc": tx["result_desc"],
    })


@simulator("mpesa")
@require_POST
def reversal(request):
    body, error = checked_request(request, lambda body: first_missing(body, REVERSAL_FIELDS))
    if error:
        return error
    if body["CommandID"] != "TransactionReversal":
        return invalid("CommandID")
    amount = whole_amount(body["Amount"])
    if amount is None:
        return invalid("Amount")
    for field in ("ResultURL", "QueueTimeOutURL"):
        if not is_url(body[field]):
            return invalid(field)
    ids = {"OriginatorConversationID": f"{digits(5)}-{digits(8)}-1",
           "ConversationID": f"AG_{datetime.now():%Y%m%d}_{secrets.token_hex(10)}"}
    result = reversal_result(ids, body["TransactionID"], amount)
    state.save(f"mpesa:reversal:{ids['OriginatorConversationID']}", result["Result"])
    state.save(f"mpesa:reversal:{ids['ConversationID']}", result["Result"])
    checkout_id = state.load(f"mpesa:receipt:{body['TransactionID']}")
    tx = state.load(f"mpesa:stk:{checkout_id}") if checkout_id else None
    if tx and tx.get("reversal_timeout"):
        # Not final: the queue timed out; the real result follows at ResultURL after another delay.
        deliver(body["QueueTimeOutURL"], {"Result": {"ResultType": 1, "ResultCode": 1, **ids,
                                                     "ResultDesc": "The service request timed out."}})
        deliver(body["ResultURL"], result, delay=callback_delay() * 3)
    else:
        deliver(body["ResultURL"], result)
    return JsonResponse({**ids, "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."})


@simulator("mpesa")
@require_POST
def transaction_status(request):
    """Transaction Status: acknowledged at once; the result goes to ResultURL. About a reversal (found by
    OriginatorConversationID / ConversationID): TransactionStatus Completed with its Amount, or
    Failed; unknown: ResultCode 2001-style failure of the query itself."""
    body, error = checked_request(request, lambda body: first_missing(body, STATUS_FIELDS))
    if error:
        return error
    if body["CommandID"] != "TransactionStatusQuery":
        return invalid("CommandID")
    ids = {"OriginatorConversationID": f"{digits(5)}-{digits(8)}-1",
           "ConversationID": f"AG_{datetime.now():%Y%m%d}_{secrets.token_hex(10)}"}
    found = state.load(f"mpesa:reversal:{body.get('OriginatorConversationID') or ''}") or \
        state.load(f"mpesa:reversal:{body.get('ConversationID') or ''}")
    if found is None:
        result = {"ResultType": 0, "ResultCode": "R000002", **ids, "ResultDesc": "No such transaction."}
    else:
        values = {p["Key"]: p["Value"] for p in (found.get("ResultParameters") or {}).get("ResultParameter", [])}
        done = str(found.get("ResultCode")) == "0"
        result = {"ResultType": 0, "ResultCode": 0, **ids, "ResultDesc": "The service request is processed "
                                                                          "successfully.",
                  "ResultParameters": {"ResultParameter": [
                      {"Key": "ReceiptNo", "Value": found.get("TransactionID", "")},
                      {"Key": "TransactionStatus", "Value": "Completed" if done else "Failed"},
                      {"Key": "Amount", "Value": values.get("Amount", 0)},
                      {"Key": "ConversationID", "Value": found.get("ConversationID", "")},
                  ]}}
    deliver(body["ResultURL"], {"Result": result})
    return JsonResponse({**ids, "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."})


def reversal_result(ids, receipt, amount) -> dict:
    """Apply the reversal to the simulated transaction now; its result is sent after the delay."""
    checkout_id = state.load(f"mpesa:receipt:{receipt}")
    tx = state.load(f"mpesa:stk:{checkout_id}") if checkout_id else None
    result = {"ResultType": 0, **ids}
    if tx is None:
        return {"Result": {**result, "ResultCode": "R000002", "ResultDesc": "The OriginalTransactionID is invalid."}}
    if tx["reversed"] + amount > tx["amount"]:
        return {"Result": {**result, "ResultCode": "R000001",
                           "ResultDesc": "The transaction has already been reversed."}}
    tx["reversed"] += amount
    state.save(f"mpesa:stk:{checkout_id}", tx)
    reversal_id = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))
    return {"Result": {
        **result, "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "TransactionID": reversal_id,
        "ResultParameters": {"ResultParameter": [
            {"Key": "Amount", "Value": float(amount)},
            {"Key": "OriginalTransactionID", "Value": receipt},
            {"Key": "TransCompletedTime", "Value": int(datetime.now().strftime("%Y%m%d%H%M%S"))},
            {"Key": "CreditPartyPublicName", "Value": f"{tx['phone']} - Sandbox Customer"},
            {"Key": "Charge", "Value": 0.0},
        ]},
    }}
