"""Daraja simulator, C2B part: URL registration, "pay from a phone" (Daraja's C2B simulate API and a page),
and Pull Transactions answering from what the simulator processed (C2B and STK Push payments).

Served under the M-Pesa simulator's base (/sandbox/mpesa/...) at Daraja's own paths; authenticates like
the rest of it (pos.payments.sandbox.mpesa.checked_request: the one bearer token Daraja keeps).

A payment is delivered as Daraja does: the validation URL first (ResultCode "0" accepts, a C2B000xx
code refuses; no answer -> the registered ResponseType decides), then the confirmation URL, with the
MSISDN as a SHA-256 hex digest. Scenarios by the paying phone number:

    254700000404   the money is taken but the confirmation is NEVER delivered (Pull Transactions lists it)
    254700000002   the confirmation is delivered twice
    254700000600   the MSISDN is masked (2547*****600) instead of hashed
    any other      validation, then one confirmation
"""

import hashlib
import logging
import secrets
import string
import threading
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from pos.payments.sandbox import state
from pos.payments.sandbox.http import callback_delay, simulator
from pos.payments.sandbox.mpesa import MSISDN, checked_request, first_missing, invalid, is_url, whole_amount

log = logging.getLogger("pos.payments.sandbox")
NAIROBI = ZoneInfo("Africa/Nairobi")
REGISTER_FIELDS = ("ShortCode", "ResponseType", "ConfirmationURL", "ValidationURL")
SIMULATE_FIELDS = ("ShortCode", "CommandID", "Amount", "Msisdn")
PULL_REGISTER_FIELDS = ("ShortCode", "RequestType", "CallBackURL")
PULL_QUERY_FIELDS = ("ShortCode", "StartDate", "EndDate")
REFUSED_WORDS = ("mpesa", "safaricom", "exec", "cmd", "sql", "query")
COMMANDS = {"CustomerPayBillOnline": "Pay Bill", "CustomerBuyGoodsOnline": "Buy Goods"}
LOST, TWICE, MASKED = "254700000404", "254700000002", "254700000600"
PROCESSED = "mpesa:processed"


def receipt_code() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "S" + "".join(secrets.choice(alphabet) for _ in range(9))


def page_size() -> int:
    return int(getattr(settings, "SANDBOX_PULL_PAGE_SIZE", 50))


def remember_processed(entry: dict) -> None:
    """Add a transaction the simulated M-Pesa completed to what Pull Transactions lists."""
    state.save(PROCESSED, [*state.load(PROCESSED, []), entry])


def remember_stk(tx: dict, body: dict) -> None:
    """An STK Push the simulated customer will approve: listed by Pull Transactions once they have."""
    remember_processed({
        "transactionId": tx["receipt"], "trxDate": datetime.fromtimestamp(tx["ready_at"], NAIROBI).isoformat(
            timespec="seconds"), "msisdn": tx["phone"], "sender": "SANDBOX CUSTOMER",
        "transactiontype": "c2b-pay-bill-debit", "billreference": str(body.get("AccountReference") or ""),
        "amount": f"{tx['amount']:.1f}", "organizationname": "Sandbox shop",
        "shortcode": str(body["BusinessShortCode"]), "ready_at": tx["ready_at"]})


# --- URL registration --------------------------------------------------------------------------------
def register_problem(body):
    missing = first_missing(body, REGISTER_FIELDS)
    if missing:
        return missing
    if body["ResponseType"] not in ("Completed", "Cancelled"):
        return "ResponseType"
    for field in ("ConfirmationURL", "ValidationURL"):
        url = str(body[field])
        if not is_url(url) or any(word in url.lower() for word in REFUSED_WORDS):
            return field
    return None


@simulator("mpesa")
@require_POST
def register_url(request):
    body, error = checked_request(request, register_problem)
    if error:
        return error
    state.save(f"mpesa:c2b:urls:{body['ShortCode']}", {
        "confirmation": body["ConfirmationURL"], "validation": body["ValidationURL"],
        "response_type": body["ResponseType"]})
    return JsonResponse({"OriginatorCoversationID": f"{secrets.randbelow(10**5)}-{secrets.randbelow(10**8)}-1",
                         "ResponseCode": "0", "ResponseDescription": "Success"})


def registered_urls(shortcode):
    return state.load(f"mpesa:c2b:urls:{shortcode}")


# --- paying from a phone -----------------------------------------------------------------------------
def simulate_problem(body):
    missing = first_missing(body, SIMULATE_FIELDS)
    if missing:
        return missing
    if body["CommandID"] not in COMMANDS:
        return "CommandID"
    if whole_amount(body["Amount"]) is None:
        return "Amount"
    if not MSISDN.fullmatch(str(body["Msisdn"])):
        return "Msisdn"
    if registered_urls(str(body["ShortCode"])) is None:
        return "ShortCode"
    return None


@simulator("mpesa")
@require_POST
def simulate(request):
    """Daraja's POST /mpesa/c2b/v1/simulate: the customer pays the shortcode from their phone."""
    body, error = checked_request(request, simulate_problem)
    if error:
        return error
    tx = pay(str(body["ShortCode"]), body["CommandID"], whole_amount(body["Amount"]), str(body["Msisdn"]),
             str(body.get("BillRefNumber") or ""), first_name=str(body.get("FirstName") or ""))
    return JsonResponse({"OriginatorCoversationID": tx["originator_id"], "ResponseCode": "0",
                         "ResponseDescription": "Accept the service request successfully.",
                         "TransID": tx["TransID"]})


def pay(shortcode, command, amount, msisdn, bill_ref="", first_name="", *, delay=None) -> dict:
    """Take the money and notify the registered URLs from a background thread (validation, then
    confirmation). Returns the transaction (its TransID is the code in the customer's SMS)."""
    urls = registered_urls(shortcode) or {}
    now = datetime.now(NAIROBI)
    if msisdn == MASKED:
        shown = msisdn[:4] + "*" * 5 + msisdn[-3:]
    else:
        shown = hashlib.sha256(msisdn.encode()).hexdigest()
    body = {
        "TransactionType": COMMANDS[command], "TransID": receipt_code(), "TransTime": now.strftime("%Y%m%d%H%M%S"),
        "TransAmount": f"{amount:.2f}", "BusinessShortCode": shortcode,
        "BillRefNumber": bill_ref if command == "CustomerPayBillOnline" else "", "InvoiceNumber": "",
        "OrgAccountBalance": "", "ThirdPartyTransID": "", "MSISDN": shown,
        "FirstName": first_name or "JOHN", "MiddleName": "", "LastName": "DOE" if not first_name else "",
    }
    tx = {**body, "originator_id": f"{secrets.randbelow(10**5)}-{secrets.randbelow(10**8)}-1"}
    pulled = {"transactionId": body["TransID"], "trxDate": now.isoformat(timespec="seconds"),
              "msisdn": msisdn if msisdn != MASKED else shown, "sender": f"{body['FirstName']} {body['LastName']}".strip(),
              "transactiontype": "c2b-pay-bill-debit" if command == "CustomerPayBillOnline" else "c2b-buy-goods-debit",
              "billreference": body["BillRefNumber"], "amount": f"{amount:.1f}", "organizationname": "Sandbox shop",
              "shortcode": shortcode}
    wait = callback_delay() if delay is None else delay
    threading.Thread(target=_notify, args=(urls, body, pulled, msisdn, wait), name="sandbox-c2b", daemon=True).start()
    return tx


def _post(url, body):
    try:
        response = requests.post(url, json=body, timeout=8)
        log.info("sandbox C2B notice to %s: HTTP %s", url, response.status_code)
        return response.json() if response.ok else None
    except (requests.RequestException, ValueError) as exc:
        log.warning("sandbox C2B notice to %s failed: %s", url, exc)
        return None


def _notify(urls, body, pulled, msisdn, wait):
    try:
        time.sleep(wait)
        if urls.get("validation"):
            answer = _post(urls["validation"], body)
            accepted = str((answer or {}).get("ResultCode")) == "0" if answer is not None \
                else urls.get("response_type") == "Completed"
            if not accepted:
                log.info("sandbox C2B %s refused by validation: %s", body["TransID"], answer)
                return
        remember_processed(pulled)
        if msisdn == LOST or not urls.get("confirmation"):
            return
        for _ in range(2 if msisdn == TWICE else 1):
            _post(urls["confirmation"], body)
    finally:
        connections.close_all()


@simulator("mpesa")
def phone_page(request):
    """A page standing in for the customer's phone: pay the shop's till or paybill."""
    context = {"shortcode": request.POST.get("shortcode") or settings.C2B_SHORTCODE,
               "till": settings.C2B_TILL_NUMBER, "phone": request.POST.get("phone") or "254708374149",
               "amount": request.POST.get("amount", ""), "account": request.POST.get("account", ""),
               "command": request.POST.get("command") or "CustomerBuyGoodsOnline", "name": request.POST.get("name", "")}
    if request.method == "POST":
        amount = whole_amount(context["amount"])
        if amount is None or not MSISDN.fullmatch(context["phone"]) or context["command"] not in COMMANDS:
            context["error"] = "Enter a whole amount of at least 1 and a phone like 254708374149."
        elif registered_urls(context["shortcode"]) is None:
            context["error"] = (f"The shop has not registered C2B URLs for {context['shortcode']} "
                                "(manage.py register_c2b).")
        else:
            tx = pay(context["shortcode"], context["command"], amount, context["phone"], context["account"],
                     context["name"])
            context["sms"] = (f"{tx['TransID']} Confirmed. Ksh{amount:,.2f} sent to {settings.SHOP_NAME} on "
                              f"{datetime.now(NAIROBI):%d/%m/%y at %I:%M %p}.")
            context["trans_id"] = tx["TransID"]
    return TemplateResponse(request, "c2b/sandbox_phone.html", context)


# --- Pull Transactions -------------------------------------------------------------------------------
@simulator("mpesa")
@require_POST
def pull_register(request):
    body, error = checked_request(request, lambda b: first_missing(b, PULL_REGISTER_FIELDS) or (
        None if b["RequestType"] == "Pull" and is_url(b["CallBackURL"]) else "RequestType"))
    if error:
        return error
    state.save(f"mpesa:pull:{body['ShortCode']}", body["CallBackURL"])
    return JsonResponse({"ResponseRefID": str(uuid.uuid4()), "ResponseStatus": "1000",
                         "ShortCode": str(body["ShortCode"]), "ResponseDescription": "Success"})


def _daraja_date(value):
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=NAIROBI)
    except ValueError:
        return None


@simulator("mpesa")
@require_POST
def pull_query(request):
    body, error = checked_request(request, lambda b: first_missing(b, PULL_QUERY_FIELDS))
    if error:
        return error
    start, end = _daraja_date(body["StartDate"]), _daraja_date(body["EndDate"])
    if start is None or end is None or end < start:
        return invalid("StartDate" if start is None else "EndDate")
    if start < datetime.now(NAIROBI) - timedelta(hours=48, minutes=5):
        return invalid("StartDate")  # Daraja keeps 48 hours
    try:
        offset = int(body.get("OffSetValue") or 0)
    except (TypeError, ValueError):
        return invalid("OffSetValue")
    now = time.time()
    rows = [row for row in state.load(PROCESSED, [])
            if str(row.get("shortcode")) == str(body["ShortCode"]) and row.get("ready_at", 0) <= now
            and start <= datetime.fromisoformat(row["trxDate"]) <= end]
    rows.sort(key=lambda row: (row["trxDate"], row["transactionId"]))
    page = [{k: v for k, v in row.items() if k not in ("shortcode", "ready_at")}
            for row in rows[offset:offset + page_size()]]
    return JsonResponse({"ResponseRefID": str(uuid.uuid4()), "ResponseCode": "1000", "ResponseMessage": "Success",
                         "Response": [page] if page else []})


