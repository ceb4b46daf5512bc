"""Flutterwave v3 simulator: Standard payment link, hosted card page, webhook, verify, refund.

The `charge.completed` webhook goes where a merchant's dashboard says: here SANDBOX_CARD_WEBHOOK_URL,
else PUBLIC_BASE_URL + /api/payments/webhooks/card/callback/, with the `verif-hash` header set to
FLUTTERWAVE_SECRET_HASH.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pos.payments.sandbox import state
from pos.payments.sandbox.http import (
    bearer,
    callback_delay,
    deliver,
    json_body,
    simulator,
)
from pos.payments.sandbox.scenarios import card_declines, card_refund_pending


def fw_error(message: str, http_status=400) -> JsonResponse:
    return JsonResponse({"status": "error", "message": message, "data": None}, status=http_status)


def key_refused(request):
    if not bearer(request).startswith("FLWSECK"):
        return fw_error("Invalid authorization key", 401)
    return None


def number(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


def positive(value):
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount > 0 else None


@simulator("flutterwave")
@require_POST
def create_payment(request):
    refused = key_refused(request)
    if refused:
        return refused
    body = json_body(request) or {}
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    checks = {"tx_ref": bool(body.get("tx_ref")), "amount": positive(body.get("amount")) is not None,
              "redirect_url": str(body.get("redirect_url", "")).startswith(("http://", "https://")),
              "customer.email": "@" in str(customer.get("email", ""))}
    problem = next((name for name, ok in checks.items() if not ok), None)
    if problem:
        return fw_error(f"{problem} is required")
    tx_ref = str(body["tx_ref"])
    existing = state.load(f"flutterwave:tx:{tx_ref}")
    if existing and existing["status"] != "pending":
        return fw_error("Duplicate transaction reference")
    tx = {"tx_ref": tx_ref, "amount": str(positive(body["amount"])), "currency": str(body.get("currency") or "NGN"),
          "redirect_url": body["redirect_url"], "customer": customer, "meta": body.get("meta") or {},
          "title": (body.get("customizations") or {}).get("title", "") if isinstance(body.get("customizations"),
                                                                                        dict) else "",
          "status": "pending", "refunded": "0"}
    state.save(f"flutterwave:tx:{tx_ref}", tx)
    link = request.build_absolute_uri(reverse("sandbox:flutterwave-pay", args=[tx_ref]))
    return JsonResponse({"status": "success", "message": "Hosted Link", "data": {"link": link}})


def charge(tx, outcome, *, amount=None, currency=None, bad_signature=False, duplicate=False, v4=False) -> dict:
    """Settle a pending payment like a customer on the hosted page, and send the webhook."""
    if tx["status"] != "pending":
        return tx
    declined = outcome != "successful" or card_declines(Decimal(tx["amount"]))
    tx.update(
        id=100000000 + secrets.randbelow(900000000), flw_ref=f"FLW-MOCK-{secrets.token_hex(16)}",
        status="failed" if declined else "successful",
        charged_amount=str(amount if amount is not None else tx["amount"]), charged_currency=currency or tx["currency"],
        processor_response="Declined" if declined else "Approved. Successful",
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    )
    state.save(f"flutterwave:tx:{tx['tx_ref']}", tx)
    state.save(f"flutterwave:id:{tx['id']}", tx["tx_ref"])
    secret = f"forged-{secrets.token_hex(8)}" if bad_signature else (settings.FLUTTERWAVE_SECRET_HASH or "")
    if v4:  # the newer shape, signed only with flutterwave-signature = base64(HMAC-SHA256(secret, raw body))
        body = {"webhook_id": f"wbk_{secrets.token_hex(8)}", "timestamp": int(time.time() * 1000),
                "type": "charge.completed", "data": v4_data(tx)}
        raw = json.dumps(body).encode()
        signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
        deliver(webhook_url(), raw, headers={"flutterwave-signature": signature, "Content-Type": "application/json"},
                times=2 if duplicate else 1)
        return tx
    deliver(webhook_url(), {"event": "charge.completed", "data": transaction_data(tx), "event.type": "CARD_TRANSACTION"},
            headers={"verif-hash": secret}, times=2 if duplicate else 1)
    return tx


def v4_data(tx) -> dict:
    amount = Decimal(tx["charged_amount"])
    return {"id": f"chg_{tx['id']}", "amount": number(amount), "currency": tx["charged_currency"],
            "reference": tx["tx_ref"], "status": "succeeded" if tx["status"] == "successful" else "failed",
            "payment_method": {"type": "card", "card": {"first6": "553188", "last4": "2950", "network": "MASTERCARD"}},
            "processor_response": {"type": "approved" if tx["status"] == "successful" else "declined",
                                   "code": "00" if tx["status"] == "successful" else "05"},
            "created_datetime": tx["created_at"]}


def webhook_url() -> str:
    return getattr(settings, "SANDBOX_CARD_WEBHOOK_URL", "") or \
        settings.PUBLIC_BASE_URL.rstrip("/") + "/api/payments/webhooks/card/callback/"


def transaction_data(tx) -> dict:
    amount = Decimal(tx["charged_amount"])
    customer = tx["customer"]
    return {
        "id": tx["id"], "tx_ref": tx["tx_ref"], "flw_ref": tx["flw_ref"], "device_fingerprint": "N/A",
        "amount": number(amount), "currency": tx["charged_currency"], "charged_amount": number(amount),
        "app_fee": number((amount * Decimal("0.029")).quantize(Decimal("0.01"))), "merchant_fee": 0,
        "processor_response": tx["processor_response"], "auth_model": "PIN", "ip": "127.0.0.1",
        "narration": tx["title"] or "Sandbox merchant", "status": tx["status"], "payment_type": "card",
        "created_at": tx["created_at"], "account_id": 1, "meta": tx["meta"],
        "card": {"first_6digits": "553188", "last_4digits": "2950", "issuer": "MASTERCARD CREDIT", "country": "KE",
                 "type": "MASTERCARD", "expiry": "09/32"},
        "customer": {"id": 1, "name": customer.get("name", ""), "phone_number": customer.get("phonenumber", ""),
                     "email": customer.get("email", ""), "created_at": tx["created_at"]},
    }


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox card payment</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto}}button{{font-size:1.1rem;margin:.5rem}}</style>
</head><body><p><strong>Flutterwave sandbox</strong> &middot; test card checkout</p><h1>{title}</h1>
<p id="amount">{currency} {amount}</p><p>Card 5531 8866 5214 2950 (test)</p>{body}</body></html>"""


@simulator("flutterwave")
@require_http_methods(["GET", "POST"])
def hosted_page(request, tx_ref):
    tx = state.load(f"flutterwave:tx:{tx_ref}")
    if tx is None:
        return HttpResponse("Unknown payment link.", status=404, content_type="text/plain")
    if request.method == "POST" and tx["status"] == "pending":
        tx = charge(tx, "successful" if request.POST.get("outcome") == "successful" else "failed")
        query = urlencode({"status": tx["status"], "tx_ref": tx_ref, "transaction_id": tx["id"]})
        separator = "&" if "?" in tx["redirect_url"] else "?"
        return HttpResponseRedirect(f"{tx['redirect_url']}{separator}{query}")
    if tx["status"] == "pending":
        body = mark_safe('<form method="post"><button id="pay" name="outcome" value="successful">Pay</button>'
                         '<button id="decline" name="outcome" value="failed">Decline</button></form>')
    else:
        body = format_html('<p id="result">This payment is {}.</p>', tx["status"])
    return HttpResponse(format_html(PAGE, title=tx["title"] or "Sandbox merchant", currency=tx["currency"],
                                    amount=Decimal(tx["amount"]).quantize(Decimal("0.01")), body=body))


@simulator("flutterwave")
@require_POST
def simulate(request, tx_ref):
    """Test control: do what the hosted page's buttons do, with optional twists."""
    tx = state.load(f"flutterwave:tx:{tx_ref}")
    if tx is None:
        return fw_error("No transaction was found for this tx_ref", 404)
    body = json_body(request) or {}
    amount = positive(body["amount"]) if body.get("amount") is not None else None
    tx = charge(tx, body.get("outcome", "successful"), amount=amount, currency=body.get("currency"),
                bad_signature=bool(body.get("bad_signature")), duplicate=bool(body.get("duplicate")),
                v4=bool(body.get("v4")))
    return JsonResponse({"status": "success", "message": "Simulated", "data": transaction_data(tx)})


def charged(tx_ref):
    tx = state.load(f"flutterwave:tx:{tx_ref}") if tx_ref else None
    return tx if tx and tx["status"] != "pending" else None


@simulator("flutterwave")
@require_GET
def verify(request, transaction_id):
    refused = key_refused(request)
    if refused:
        return refused
    tx = charged(state.load(f"flutterwave:id:{transaction_id}"))
    if tx is None:
        return fw_error("No transaction was found for this id")
    return JsonResponse({"status": "success", "message": "Transaction fetched successfully",
                         "data": transaction_data(tx)})


@simulator("flutterwave")
@require_GET
def verify_by_reference(request):
    refused = key_refused(request)
    if refused:
        return refused
    tx = charged(request.GET.get("tx_ref"))
    if tx is None:
        return fw_error("No transaction was found for this id")
    return JsonResponse({"status": "success", "message": "Transaction fetched successfully",
                         "data": transaction_data(tx)})


@simulator("flutterwave")
@require_POST
def refund(request, transaction_id):
    refused = key_refused(request)
    if refused:
        return refused
    tx = charged(state.load(f"flutterwave:id:{transaction_id}"))
    if tx is None or tx["status"] != "successful":
        return fw_error("No successful transaction was found for this id")
    body = json_body(request) or {}
    remaining = Decimal(tx["charged_amount"]) - Decimal(tx["refunded"])
    amount = positive(body["amount"]) if body.get("amount") is not None else remaining
    if amount is None or amount > remaining:
        return fw_error("Refund amount exceeds the amount left on the transaction")
    tx["refunded"] = str(Decimal(tx["refunded"]) + amount)
    state.save(f"flutterwave:tx:{tx['tx_ref']}", tx)
    pending = card_refund_pending(Decimal(tx["amount"]))
    data = {
        "id": 70000 + secrets.randbelow(900000), "account_id": 1, "tx_id": tx["id"], "flw_ref": tx["flw_ref"],
        "wallet_id": 1, "amount_refunded": number(amount), "status": "pending" if pending else "completed",
        "destination": "payment_source", "comments": str(body.get("comments", "")),
        "meta": {"source": "availablebalance"}, "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    state.save(f"flutterwave:refund:{data['id']}", {**data, "ready_at": time.time() + callback_delay()})
    return JsonResponse({"status": "success", "message": "Transaction refund initiated", "data": data})


@simulator("flutterwave")
@require_GET
def refund_status(request, refund_id):
    """GET /v3/refunds/<id>: a pending refund becomes completed once the callback delay has passed."""
    refused = key_refused(request)
    if refused:
        return refused
    found = state.load(f"flutterwave:refund:{refund_id}")
    if found is None:
        return fw_error("No refund was found for this id", 404)
    data = {k: v for k, v in found.items() if k != "ready_at"}
    if data["status"] == "pending" and time.time() >= found["ready_at"]:
        data["status"] = "completed"
    return JsonResponse({"status": "success", "message": "Refund fetched", "data": data})
