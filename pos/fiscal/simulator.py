"""An OSCU simulator: KRA's online sales control unit on loopback, for demo mode and the tests.

Served under /sandbox/etims/ (the demo device's base URL, ETIMS_SIMULATOR_URL) with the same paths as
KRA's `etims-api/`, JSON POSTs with the headers `tin`, `bhfId` and `cmcKey`, and answers in KRA's
envelope `{"resultCd", "resultMsg", "resultDt", "data"}`. Signatures are fake but deterministic
(an HMAC of PIN, branch, invoice number, our receipt number and total), 16 characters like KRA's.

It checks what KRA checks and answers with these codes:

    000  success                           001  no result (code tables: nothing newer than lastReqDt)
    901  unknown device or wrong cmcKey     902  this device is installed already (selectInitOsdcInfo again)
    910  a required field is missing        921  invcNo / sarNo is not the next number (a gap or out of order)
    924  invcNo already used by another receipt (the same receipt again is answered with its first signature)
    930  an item of the invoice is not registered                  940  the totals do not add up

Faults on demand, so a person or a test can see what the shop does when KRA misbehaves: POST JSON to
/sandbox/etims/_control (GET shows the state and what was signed), or call `control()` in-process:

    {"down": true}                   every call answers HTTP 503 until {"down": false}
    {"slow": 5}                      every call waits 5 s before answering (beyond ETIMS_HTTP_TIMEOUT: a timeout)
    {"drop": 2}                      the next 2 invoices are signed but the answer is lost (HTTP 504)
    {"reject": [{"op": "saveItem", "match": "Sugar", "code": "995", "msg": "Invalid item class"}]}
                                     refuse calls of `op` whose body contains `match` with that code/message
    {"reset": true}                  forget everything (devices, items, invoices, faults)

State lives in the Django cache (a database table or Redis), so the web server and the task worker
see the same simulator.
"""

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

DAY = 24 * 3600
TABLES_DATE = "20260101000000"
SECRET = b"duka-oscu-simulator"
DEFAULT_CONTROL = {"down": False, "slow": 0, "drop": 0, "reject": []}

CODE_TABLES = [
    ("04", "Taxation Type", [("A", "A-Exempt", "0"), ("B", "B-16.00%", "16"), ("C", "C-0%", "0"),
                             ("D", "D-Non-VAT", "0"), ("E", "E-8%", "8")]),
    ("07", "Payment Type", [("01", "CASH", ""), ("02", "CREDIT", ""), ("03", "CASH/CREDIT", ""),
                            ("04", "BANK CHECK", ""), ("05", "DEBIT&CREDIT CARD", ""), ("06", "MOBILE MONEY", ""),
                            ("07", "OTHER", "")]),
    ("10", "Quantity Unit", [("U", "Pieces/item [Number]", ""), ("KG", "Kilo-Gramme", ""), ("GRM", "Gram", ""),
                             ("LTR", "Litre", ""), ("MTR", "Metre", ""), ("PA", "Packet", "")]),
    ("17", "Packing Unit", [("NT", "NET", ""), ("BG", "Bag", ""), ("BX", "Box", ""), ("BA", "Barrel", "")]),
    ("05", "Country", [("KE", "KENYA", ""), ("UG", "UGANDA", ""), ("TZ", "TANZANIA", "")]),
    ("32", "Refund Reason", [("01", "Missing Quantity", ""), ("03", "Damaged", ""), ("06", "Refund", ""),
                             ("13", "Other", "")]),
]
ITEM_CLASSES = [("5059690800", "Retail goods (general)", 4, "B"), ("5010150100", "Vegetables", 4, "A"),
                ("5020230500", "Milk and milk products", 4, "A"), ("5020230600", "Bread and bakery", 4, "A"),
                ("5020230900", "Beverages", 4, "B"), ("5310150100", "Household cleaning", 4, "B")]


# --- state ---------------------------------------------------------------------------------------

def _gen():
    return cache.get("etims-sim:generation", 0)


def _key(name):
    return f"etims-sim:{_gen()}:{name}"


def load(name, default=None):
    return cache.get(_key(name), default)


def save(name, value):
    cache.set(_key(name), value, DAY)


def reset():
    cache.set("etims-sim:generation", _gen() + 1, None)


def control(**changes) -> dict:
    """Change the faults (see the module docstring); returns the whole control state."""
    if changes.pop("reset", False):
        reset()
    state = {**DEFAULT_CONTROL, **load("control", {})}
    state.update({k: v for k, v in changes.items() if k in DEFAULT_CONTROL})
    save("control", state)
    return state


def stats(tin, bhf) -> dict:
    """What the simulator signed for a branch: invoice numbers in order, and how often each receipt
    was signed (a retry of the same receipt is answered again, not signed again)."""
    last = load(f"last_inv:{tin}:{bhf}", 0)
    invoices = [load(f"inv:{tin}:{bhf}:{n}") for n in range(1, last + 1)]
    return {
        "last_invoice_no": last,
        "invoices": [{"invcNo": n, "trdInvcNo": inv["trdInvcNo"], "rcptTyCd": inv["rcptTyCd"],
                      "signings": inv["signings"], "answers": inv["answers"], "rcptSign": inv["data"]["rcptSign"]}
                     for n, inv in enumerate(invoices, start=1) if inv],
        "last_sar_no": load(f"last_sar:{tin}:{bhf}", 0),
        "stock_master": load(f"stock_master:{tin}:{bhf}", {}),
        "items": sorted(load(f"items:{tin}", {})),
    }


# --- the envelope --------------------------------------------------------------------------------

def _now():
    return timezone.localtime().strftime("%Y%m%d%H%M%S")


def envelope(code="000", msg="It is succeeded", data=None, status=200):
    return JsonResponse({"resultCd": code, "resultMsg": msg, "resultDt": _now(), "data": data}, status=status)


def _sign(*parts, length=16):
    digest = hmac.new(SECRET, "|".join(str(p) for p in parts).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().rstrip("=")[:length]


def _missing(body, fields):
    return [f for f in fields if body.get(f) in (None, "")]


# --- operations ----------------------------------------------------------------------------------

def init_device(tin, bhf, body):
    if _missing(body, ["tin", "bhfId", "dvcSrlNo"]) or body["tin"] != tin or body["bhfId"] != bhf:
        return envelope("910", "Request parameter error: tin, bhfId, dvcSrlNo")
    if load(f"dev:{tin}:{bhf}"):
        return envelope("902", "This device is installed")
    number = int(hashlib.sha256(f"{tin}{bhf}".encode()).hexdigest()[:8], 16) % 10**7
    info = {"tin": tin, "taxprNm": settings.SHOP_NAME, "bsnsActv": "Retail", "bhfId": bhf, "bhfNm": "Head office",
            "bhfOpenDt": "20240101", "prvncNm": "NAIROBI", "dstrtNm": "NAIROBI", "sctrNm": "CBD",
            "locDesc": settings.SHOP_ADDRESS, "hqYn": "Y" if bhf == "00" else "N", "mgrNm": "Manager",
            "mgrTelNo": settings.SHOP_PHONE, "mgrEmail": "manager@example.com",
            "dvcId": f"{number:010d}", "sdcId": f"KRACU01{number:08d}", "mrcNo": f"WIS0{number:07d}",
            "cmcKey": _sign("cmc", tin, bhf, body["dvcSrlNo"], time.time_ns(), length=32),
            "lastPchsInvcNo": 0, "lastSaleRcptNo": 0, "lastInvcNo": 0, "lastSaleInvcNo": 0}
    save(f"dev:{tin}:{bhf}", info)
    return envelope(data={"info": info})


def code_list(tin, bhf, body):
    if (body.get("lastReqDt") or "") >= TABLES_DATE:
        return envelope("001", "There is no search result")
    return envelope(data={"clsList": [
        {"cdCls": cls, "cdClsNm": name, "cdClsDesc": None, "useYn": "Y", "userDfnNm1": None,
         "dtlList": [{"cd": cd, "cdNm": cd_name, "cdDesc": None, "useYn": "Y", "srtOrd": n, "userDfnCd1": extra}
                     for n, (cd, cd_name, extra) in enumerate(rows, start=1)]}
        for cls, name, rows in CODE_TABLES]})


def item_class_list(tin, bhf, body):
    if (body.get("lastReqDt") or "") >= TABLES_DATE:
        return envelope("001", "There is no search result")
    return envelope(data={"itemClsList": [
        {"itemClsCd": cd, "itemClsNm": name, "itemClsLvl": lvl, "taxTyCd": tax, "mjrTgYn": "N", "useYn": "Y"}
        for cd, name, lvl, tax in ITEM_CLASSES]})


ITEM_FIELDS = ["itemCd", "itemClsCd", "itemTyCd", "itemNm", "orgnNatCd", "pkgUnitCd", "qtyUnitCd", "taxTyCd",
               "dftPrc", "isrcAplcbYn", "useYn", "regrId", "regrNm", "modrId", "modrNm"]


def save_item(tin, bhf, body):
    missing = _missing(body, ITEM_FIELDS)
    if missing:
        return envelope("910", f"Request parameter error: {', '.join(missing)}")
    code = body["itemCd"]
    expected = f"{body['orgnNatCd']}{body['itemTyCd']}{body['pkgUnitCd']}{body['qtyUnitCd']}"
    if not code.startswith(expected) or len(code) != len(expected) + 7 or not code[-7:].isdigit():
        return envelope("910", f"itemCd {code} does not follow origin+type+packaging+unit+7 digits")
    if body["taxTyCd"] not in "ABCDE":
        return envelope("910", f"Unknown taxTyCd {body['taxTyCd']}")
    items = load(f"items:{tin}", {})
    items[code] = body
    save(f"items:{tin}", items)
    return envelope()


SALE_FIELDS = ["trdInvcNo", "invcNo", "rcptTyCd", "pmtTyCd", "salesSttsCd", "cfmDt", "salesDt", "totItemCnt",
               "totTaxblAmt", "totTaxAmt", "totAmt", "itemList"]


def _d(value):
    return Decimal(str(value or 0))


def _totals_problem(body):
    items = body["itemList"]
    if len(items) != int(body["totItemCnt"]):
        return "totItemCnt is not the number of items"
    if abs(sum(_d(i["totAmt"]) for i in items) - _d(body["totAmt"])) > Decimal("0.005"):
        return "totAmt is not the sum of the items"
    for letter in "ABCDE":
        lines = [i for i in items if i["taxTyCd"] == letter]
        if abs(sum(_d(i["taxblAmt"]) for i in lines) - _d(body.get(f"taxblAmt{letter}"))) > Decimal("0.005"):
            return f"taxblAmt{letter} is not the sum of its items"
        if abs(sum(_d(i["taxAmt"]) for i in lines) - _d(body.get(f"taxAmt{letter}"))) > Decimal("0.005"):
            return f"taxAmt{letter} is not the sum of its items"
    for i in items:
        if abs(_d(i["taxblAmt"]) + _d(i["taxAmt"]) - _d(i["totAmt"])) > Decimal("0.005"):
            return f"item {i['itemSeq']}: taxblAmt + taxAmt is not totAmt"
    return ""


def save_sale(tin, bhf, body):
    missing = _missing(body, SALE_FIELDS)
    if missing:
        return envelope("910", f"Request parameter error: {', '.join(missing)}")
    number = int(body["invcNo"])
    stored = load(f"inv:{tin}:{bhf}:{number}")
    if stored:
        if stored["trdInvcNo"] != body["trdInvcNo"]:
            return envelope("924", f"invcNo {number} was already used for receipt {stored['trdInvcNo']}")
        stored["answers"] += 1
        save(f"inv:{tin}:{bhf}:{number}", stored)
        return envelope(data=stored["data"])
    last = load(f"last_inv:{tin}:{bhf}", 0)
    if number != last + 1:
        return envelope("921", f"invcNo {number} is not the next invoice number ({last + 1})")
    if body["rcptTyCd"] == "R" and not (0 < int(body.get("orgInvcNo") or 0) <= last):
        return envelope("910", "A credit note needs the orgInvcNo of a signed invoice")
    items = load(f"items:{tin}", {})
    unknown = [i["itemCd"] for i in body["itemList"] if i.get("itemCd") not in items]
    if unknown:
        return envelope("930", f"Item not registered: {', '.join(unknown)}")
    problem = _totals_problem(body)
    if problem:
        return envelope("940", problem)
    kind = body["rcptTyCd"]
    current = load(f"rcpt:{tin}:{bhf}:{kind}", 0) + 1
    data = {"curRcptNo": current, "totRcptNo": number, "intrlData": _sign("intrl", tin, bhf, number, length=26),
            "rcptSign": _sign("sign", tin, bhf, number, body["trdInvcNo"], body["totAmt"]),
            "sdcDateTime": _now()}
    save(f"rcpt:{tin}:{bhf}:{kind}", current)
    save(f"last_inv:{tin}:{bhf}", number)
    save(f"inv:{tin}:{bhf}:{number}", {"trdInvcNo": body["trdInvcNo"], "rcptTyCd": kind, "data": data,
                                       "signings": 1, "answers": 1})
    return envelope(data=data)


def stock_io(tin, bhf, body):
    missing = _missing(body, ["sarNo", "sarTyCd", "ocrnDt", "itemList"])
    if missing:
        return envelope("910", f"Request parameter error: {', '.join(missing)}")
    number, last = int(body["sarNo"]), load(f"last_sar:{tin}:{bhf}", 0)
    if number <= last and load(f"sar:{tin}:{bhf}:{number}") == body["remark"]:
        return envelope()  # the same movement again
    if number != last + 1:
        return envelope("921", f"sarNo {number} is not the next stock number ({last + 1})")
    save(f"sar:{tin}:{bhf}:{number}", body.get("remark"))
    save(f"last_sar:{tin}:{bhf}", number)
    return envelope()


def stock_master(tin, bhf, body):
    if _missing(body, ["itemCd"]) or body.get("rsdQty") is None:
        return envelope("910", "Request parameter error: itemCd, rsdQty")
    master = load(f"stock_master:{tin}:{bhf}", {})
    master[body["itemCd"]] = body["rsdQty"]
    save(f"stock_master:{tin}:{bhf}", master)
    return envelope()


OPERATIONS = {
    "selectInitOsdcInfo": init_device, "selectCodeList": code_list, "selectItemClsList": item_class_list,
    "saveItem": save_item, "saveTrnsSalesOsdc": save_sale, "insertStockIO": stock_io,
    "saveStockMaster": stock_master,
}


def _enabled():
    return getattr(settings, "ETIMS_SIMULATOR_ENABLED", False)


@csrf_exempt
def endpoint(request, operation):
    if not _enabled():
        raise Http404("eTIMS simulator disabled")
    handler = OPERATIONS.get(operation)
    if handler is None or request.method != "POST":
        return envelope("910", f"Unknown operation {operation}", status=404)
    state = {**DEFAULT_CONTROL, **load("control", {})}
    if state["slow"]:
        time.sleep(float(state["slow"]))
    if state["down"]:
        return HttpResponse("<html><body>503 Service Unavailable</body></html>", status=503)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return envelope("910", "The body is not JSON", status=400)
    tin, bhf = request.headers.get("tin", ""), request.headers.get("bhfId", "")
    if not tin or not bhf:
        return envelope("910", "Headers tin and bhfId are required")
    if operation != "selectInitOsdcInfo":
        device = load(f"dev:{tin}:{bhf}")
        if not device or not hmac.compare_digest(device["cmcKey"], request.headers.get("cmcKey", "")):
            return envelope("901", "It is not valid device or cmcKey")
    raw = json.dumps(body)
    for rule in state["reject"]:
        if rule.get("op") == operation and str(rule.get("match", "")) in raw:
            return envelope(str(rule.get("code", "999")), rule.get("msg", "Rejected by the simulator"))
    answer = handler(tin, bhf, body)
    if operation == "saveTrnsSalesOsdc" and state["drop"] and answer.status_code == 200:
        control(drop=state["drop"] - 1)
        return HttpResponse("Gateway Timeout", status=504)
    return answer


@csrf_exempt
def control_view(request):
    if not _enabled():
        raise Http404("eTIMS simulator disabled")
    if request.method == "POST":
        try:
            changes = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "the body is not JSON"}, status=400)
        return JsonResponse(control(**changes))
    tin, bhf = request.GET.get("tin", ""), request.GET.get("bhfId", "00")
    return JsonResponse({"control": control(), **(stats(tin, bhf) if tin else {})})
