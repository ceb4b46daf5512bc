"""The signing outbox: every paid sale and every return becomes a Document, sent to the SCU in order.

- `enqueue_sale` / `enqueue_return` add a document (once: unique per sale / return / trdInvcNo). They run
  after the sale's transaction commits, so the till never waits for KRA.
- `process_outbox` sends the device's documents one after the other, in the order they were queued,
  under a lease (one runner per device). A document takes its invoice number (invcNo) from the device's
  gap-free counter, under a row lock, when it is sent; the number and the body are stored first, so a
  retry after a lost answer sends the same invoice again (KRA answers with the same signature) and
  nothing is ever signed twice.
- KRA slow or down: the document waits with back-off and the queue behind it waits too (order).
  KRA refuses a document for good: it is marked failed with KRA's message, and its number is given back
  (it was the last one taken), so numbers stay gap-free. A refused item registration blocks only the
  documents that sell that item; the rest go on.
- After a document is signed, its stock movement goes as insertStockIO (sarNo from its own gap-free
  counter) and then saveStockMaster (the remaining quantity of each item).
"""

import logging
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.core.money import ZERO
from pos.fiscal.models import (
    Counter,
    Device,
    Document,
    DocumentKind,
    DocumentStatus,
    FiscalItem,
    ItemStatus,
    Mode,
    StockStatus,
)
from pos.fiscal.services.device import active_device, active_device_id, ensure_initialised
from pos.fiscal.services.items import (
    REGISTRAR,
    TAX_RATES,
    backoff,
    fiscal_item_for,
    item_is_current,
    register_item,
    resend_item,
    tax_type,
)
from pos.fiscal.services.transport import KraError, TransportError, transport
from pos.sales.models import SOLD_STATUSES, Sale, SaleReturn

log = logging.getLogger("pos.fiscal")

PAYMENT_TYPES = {"cash": "01", "card": "05", "mpesa": "06", "airtel": "06"}
LETTERS = "ABCDE"
NEXT, STOP = "next", "stop"


# --- enqueue ---------------------------------------------------------------------------------------

def enqueue_sale(sale_id) -> Document | None:
    """Queue the paid sale `sale_id` for signing (nothing when eTIMS is off or it is queued already)."""
    device_id = active_device_id()
    if not device_id:
        return None
    sale = Sale.objects.filter(pk=sale_id, status__in=SOLD_STATUSES).only("pk", "receipt_number").first()
    if sale is None:
        return None
    return _add(Document(device_id=device_id, kind=DocumentKind.SALE, sale=sale,
                         trade_invoice_no=sale.receipt_number), sale=sale, kind=DocumentKind.SALE)


def enqueue_return(sale_return_id) -> Document | None:
    """Queue the credit note of a return. Only a sale that was itself queued gets credit notes (a sale
    made before eTIMS was switched on has no signed invoice to reverse)."""
    device_id = active_device_id()
    if not device_id:
        return None
    sale_return = SaleReturn.objects.select_related("sale").filter(pk=sale_return_id).first()
    if sale_return is None or not Document.objects.filter(sale=sale_return.sale, kind=DocumentKind.SALE).exists():
        return None
    return _add(Document(device_id=device_id, kind=DocumentKind.CREDIT_NOTE, sale=sale_return.sale,
                         sale_return=sale_return,
                         trade_invoice_no=f"{sale_return.sale.receipt_number}-R{sale_return.pk}"),
                sale_return=sale_return)


def _add(document, **unique):
    try:
        with transaction.atomic():
            document.save()
        return document
    except IntegrityError:
        return Document.objects.filter(**unique).first()


def kick():
    """Ask a task worker to run the outbox now (the schedule runs it every minute anyway)."""
    from django_q.tasks import async_task

    async_task("pos.fiscal.tasks.process_outbox", task_name="etims-outbox")


def enqueue_missing(device=None, older_than_seconds=10) -> int:
    """The safety net: queue every paid sale and return since the device was set up that has no document
    (a crash between the sale's commit and its enqueue, a worker that was down)."""
    device = device or active_device()
    if device is None:
        return 0
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    added = 0
    since = device.enabled_at or device.created_at
    sales = (Sale.objects.filter(status__in=SOLD_STATUSES, paid_at__gte=since, paid_at__lt=cutoff)
             .exclude(fiscal_documents__kind=DocumentKind.SALE).order_by("paid_at", "pk").values_list("pk", flat=True))
    for pk in sales:
        added += bool(enqueue_sale(pk))
    returns = (SaleReturn.objects.filter(created_at__gte=since, created_at__lt=cutoff,
                                         fiscal_document__isnull=True,
                                         sale__fiscal_documents__kind=DocumentKind.SALE)
               .order_by("pk").values_list("pk", flat=True))
    for pk in returns:
        added += bool(enqueue_return(pk))
    return added


# --- the document's body ---------------------------------------------------------------------------

def _stamp(moment) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d%H%M%S")


def _num(value) -> float:
    return float(value)


def document_lines(document) -> list[dict]:
    """[{product, name, barcode, qty, price, supply, discount, total, tax, rate}] of the sale or the return."""
    if document.kind == DocumentKind.SALE:
        rows = [(item, item.quantity, item.total, item.tax) for item in
                document.sale.items.select_related("product").order_by("pk")]
    else:
        rows = [(line.sale_item, line.quantity, line.amount, line.tax) for line in
                document.sale_return.lines.select_related("sale_item__product").order_by("pk")]
    lines = []
    for item, qty, total, tax in rows:
        supply = (item.unit_price * qty).quantize(Decimal("0.01"))
        lines.append({"product": item.product, "name": item.name, "barcode": item.barcode, "qty": qty,
                      "price": item.unit_price, "supply": supply, "discount": supply - total, "total": total,
                      "tax": tax, "rate": item.tax_rate})
    return lines


def _payment_type(sale) -> str:
    amounts = {}
    for method, amount in sale.payments.filter(status="completed").values_list("method", "amount"):
        amounts[method] = amounts.get(method, ZERO) + amount
    if not amounts:
        return "07"
    return PAYMENT_TYPES.get(max(amounts, key=amounts.get), "07")


def build_request(document, lines, items) -> dict:
    """The saveTrnsSalesOsdc body. Amounts are VAT-inclusive: taxable = total - VAT (per line, as stored)."""
    sale = document.sale
    when = (sale.paid_at or sale.created_at) if document.kind == DocumentKind.SALE else document.sale_return.created_at
    taxable = {letter: ZERO for letter in LETTERS}
    taxes = {letter: ZERO for letter in LETTERS}
    item_list = []
    for seq, line in enumerate(lines, start=1):
        item = items[line["product"].pk]
        letter = tax_type(line["rate"], item.zero_rate_as)
        taxable[letter] += line["total"] - line["tax"]
        taxes[letter] += line["tax"]
        item_list.append({
            "itemSeq": seq, "itemCd": item.item_code, "itemClsCd": item.item_class, "itemNm": line["name"][:200],
            "bcd": line["barcode"] or None, "pkgUnitCd": item.packaging_unit, "pkg": _num(line["qty"]),
            "qtyUnitCd": item.quantity_unit, "qty": _num(line["qty"]), "prc": _num(line["price"]),
            "splyAmt": _num(line["supply"]),
            "dcRt": _num((line["discount"] * 100 / line["supply"]).quantize(Decimal("0.01"))) if line["supply"] else 0,
            "dcAmt": _num(line["discount"]), "isrccCd": None, "isrccNm": None, "isrcRt": None, "isrcAmt": None,
            "taxTyCd": letter, "taxblAmt": _num(line["total"] - line["tax"]), "taxAmt": _num(line["tax"]),
            "totAmt": _num(line["total"]),
        })
    total = sum((line["total"] for line in lines), ZERO)
    tax = sum((line["tax"] for line in lines), ZERO)
    body = {
        "trdInvcNo": document.trade_invoice_no, "invcNo": document.invoice_no,
        "orgInvcNo": document.original_invoice_no or 0, "custTin": None, "custNm": sale.customer_name or None,
        "salesTyCd": "N", "rcptTyCd": document.kind, "pmtTyCd": _payment_type(sale), "salesSttsCd": "02",
        "cfmDt": _stamp(when), "salesDt": _stamp(when)[:8], "stockRlsDt": _stamp(when), "cnclReqDt": None,
        "cnclDt": None, "rfdDt": _stamp(when) if document.kind == DocumentKind.CREDIT_NOTE else None,
        "rfdRsnCd": "06" if document.kind == DocumentKind.CREDIT_NOTE else None, "totItemCnt": len(item_list),
        "totTaxblAmt": _num(total - tax), "totTaxAmt": _num(tax), "totAmt": _num(total),
        "prchrAcptcYn": "N", "remark": None, "regrId": REGISTRAR, "regrNm": REGISTRAR, "modrId": REGISTRAR,
        "modrNm": REGISTRAR,
        "receipt": {"custTin": None, "custMblNo": sale.customer_phone or None, "rptNo": None,
                    "trdeNm": settings.SHOP_NAME[:60], "adrs": settings.SHOP_ADDRESS[:200],
                    "topMsg": settings.SHOP_NAME[:60], "btmMsg": "Thank you", "prchrAcptcYn": "N"},
        "itemList": item_list,
    }
    for letter in LETTERS:
        body[f"taxblAmt{letter}"] = _num(taxable[letter])
        body[f"taxRt{letter}"] = _num(TAX_RATES[letter])
        body[f"taxAmt{letter}"] = _num(taxes[letter])
    return body


# --- numbers ---------------------------------------------------------------------------------------

def take_number(device, kind) -> int:
    """The next number of `kind` (invc, sar) for `device`, under the counter's row lock (caller's transaction)."""
    Counter.objects.get_or_create(device=device, kind=kind)
    counter = Counter.objects.select_for_update().get(device=device, kind=kind)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def give_back_number(device, kind, number) -> bool:
    """Give back `number` when it is the last one taken (KRA refused it for good): no gap is left."""
    counter = Counter.objects.select_for_update().get(device=device, kind=kind)
    if counter.last_number != number:
        return False
    counter.last_number -= 1
    counter.save(update_fields=["last_number"])
    return True


# --- the runner ------------------------------------------------------------------------------------

def _acquire(device) -> str:
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (Device.objects.filter(pk=device.pk).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
             .update(lease_until=now + timedelta(seconds=settings.ETIMS_LEASE_SECONDS), lease_token=token))
    return token if taken else ""


def _renew(device, token):
    Device.objects.filter(pk=device.pk, lease_token=token).update(
        lease_until=timezone.now() + timedelta(seconds=settings.ETIMS_LEASE_SECONDS))


def _release(device, token):
    Device.objects.filter(pk=device.pk, lease_token=token).update(lease_until=None, lease_token="")


def pending_documents(device):
    return (Document.objects.filter(device=device)
            .filter(Q(status=DocumentStatus.QUEUED) | Q(status=DocumentStatus.SIGNED, stock_status=StockStatus.PENDING))
            .order_by("pk"))


def process_outbox(device=None, now=None, limit=1000) -> dict:
    """Send the device's waiting documents in order (see the module's docstring). `now` is the clock
    used for back-off (tests move it). Returns counts of what happened."""
    device = device or active_device()
    stats = {"signed": 0, "failed": 0, "blocked": 0, "stock": 0, "waiting": 0}
    if device is None or device.mode == Mode.OFF:
        return {**stats, "skipped": "eTIMS is off"}
    now = now or timezone.now()
    token = _acquire(device)
    if not token:
        return {**stats, "skipped": "another runner holds the outbox"}
    try:
        device.refresh_from_db()
        if not ensure_initialised(device):
            return {**stats, "skipped": "the device is not initialised"}
        unblock_ready(device)
        for pk in pending_documents(device).values_list("pk", flat=True)[:limit]:
            document = Document.objects.select_related("sale", "sale_return").get(pk=pk)
            if document.next_attempt_at and document.next_attempt_at > now:
                stats["waiting"] += 1
                break  # the head of the queue waits, and everything behind it
            if process_document(document, device, now, stats) == STOP:
                stats["waiting"] += 1
                break
            _renew(device, token)
    finally:
        _release(device, token)
    return stats


def process_document(document, device, now, stats=None) -> str:
    stats = stats if stats is not None else {"signed": 0, "failed": 0, "blocked": 0, "stock": 0}
    if document.status == DocumentStatus.QUEUED:
        outcome = sign_document(document, device, now)
        if outcome == "retry":
            return STOP
        stats[outcome] += 1
        if outcome != "signed":
            return NEXT
    if document.status == DocumentStatus.SIGNED and document.stock_status == StockStatus.PENDING:
        outcome = report_stock(document, device, now)
        if outcome == "retry":
            return STOP
        stats["stock"] += 1
    return NEXT


def _block(document, reason) -> str:
    document.status = DocumentStatus.BLOCKED
    document.last_error = reason[:500]
    document.save(update_fields=["status", "last_error"])
    return "blocked"


def _wait(document, now, error) -> str:
    document.attempts += 1
    document.next_attempt_at = now + backoff(document.attempts)
    document.last_error = str(error)[:500]
    document.save(update_fields=["attempts", "next_attempt_at", "last_error"])
    return "retry"


def _ready_items(document, device, now, lines):
    """Register what is not registered yet. Returns ({product pk: item}, None) or (None, outcome)."""
    items = {}
    for line in lines:
        product = line["product"]
        if product.pk in items:
            continue
        item = fiscal_item_for(product, device)
        if item.status == ItemStatus.REJECTED:
            return None, _block(document, f"Item {item.item_code} ({product.name}) was refused by KRA: "
                                          f"{item.result_code} {item.result_message}")
        if not item_is_current(item, product):
            try:
                item = register_item(item, device, now)
            except TransportError as exc:
                return None, _wait(document, now, f"registering item {item.item_code}: {exc}")
            if item.status == ItemStatus.REJECTED:
                return None, _block(document, f"Item {item.item_code} ({product.name}) was refused by KRA: "
                                              f"{item.result_code} {item.result_message}")
        items[product.pk] = item
    return items, None


def _original(document):
    return Document.objects.filter(sale=document.sale, kind=DocumentKind.SALE).first()


def sign_document(document, device, now) -> str:
    """Send one document. Returns signed | failed | blocked | retry."""
    if document.kind == DocumentKind.CREDIT_NOTE and document.original_invoice_no is None:
        original = _original(document)
        if original is None or original.status != DocumentStatus.SIGNED:
            return _block(document, f"The original sale {document.sale.receipt_number} is not signed yet.")
        document.original_invoice_no = original.invoice_no
        document.save(update_fields=["original_invoice_no"])
    if document.invoice_no is None:
        lines = document_lines(document)
        items, outcome = _ready_items(document, device, now, lines)
        if outcome:
            return outcome
        with transaction.atomic():
            document.invoice_no = take_number(device, "invc")
            document.request = build_request(document, lines, items)
            document.save(update_fields=["invoice_no", "request"])
    document.attempts += 1
    try:
        envelope = transport().post(device, "saveTrnsSalesOsdc", document.request, document=document)
    except TransportError as exc:
        document.attempts -= 1
        return _wait(document, now, exc)
    except KraError as exc:
        with transaction.atomic():
            give_back_number(device, "invc", document.invoice_no)
            document.invoice_no = None
            document.status = DocumentStatus.FAILED
            document.result_code, document.result_message = exc.code[:10], exc.message[:300]
            document.last_error = f"KRA {exc.code}: {exc.message}"[:500]
            document.next_attempt_at = None
            document.save()
        log.warning("eTIMS refused %s: %s %s", document.trade_invoice_no, exc.code, exc.message)
        return "failed"
    data = envelope.get("data") or {}
    document.answer = envelope
    document.status = DocumentStatus.SIGNED
    document.result_code, document.result_message = str(envelope.get("resultCd", "")), ""
    document.sdc_id, document.mrc_no = device.sdc_id, device.mrc_no
    document.receipt_counter = data.get("curRcptNo")
    document.receipt_total = data.get("totRcptNo")
    document.internal_data = str(data.get("intrlData") or "")
    document.signature = str(data.get("rcptSign") or "")
    document.sdc_datetime = str(data.get("sdcDateTime") or "")
    document.signed_at = timezone.now()
    document.last_error, document.next_attempt_at = "", None
    document.save()
    return "signed"


def stock_request(document, device) -> dict:
    body = document.request
    return {
        "sarNo": document.stock_no, "orgSarNo": 0, "regTyCd": "M", "custTin": None, "custNm": None,
        "custBhfId": None, "sarTyCd": "11" if document.kind == DocumentKind.SALE else "03",
        "ocrnDt": body["salesDt"], "totItemCnt": body["totItemCnt"], "totTaxblAmt": body["totTaxblAmt"],
        "totTaxAmt": body["totTaxAmt"], "totAmt": body["totAmt"], "remark": document.trade_invoice_no,
        "regrId": REGISTRAR, "regrNm": REGISTRAR, "modrId": REGISTRAR, "modrNm": REGISTRAR,
        "itemList": [{
            "itemSeq": line["itemSeq"], "itemCd": line["itemCd"], "itemClsCd": line["itemClsCd"],
            "itemNm": line["itemNm"], "bcd": line["bcd"], "pkgUnitCd": line["pkgUnitCd"], "pkg": line["pkg"],
            "qtyUnitCd": line["qtyUnitCd"], "qty": line["qty"], "itemExprDt": None, "prc": line["prc"],
            "splyAmt": line["splyAmt"], "totDcAmt": line["dcAmt"], "taxblAmt": line["taxblAmt"],
            "taxTyCd": line["taxTyCd"], "taxAmt": line["taxAmt"], "totAmt": line["totAmt"],
        } for line in body["itemList"]],
    }


def report_stock(document, device, now) -> str:
    """insertStockIO, then saveStockMaster per item. Returns sent | failed | retry."""
    from pos.catalog.models import Product

    if document.stock_no is None:
        with transaction.atomic():
            document.stock_no = take_number(device, "sar")
            document.save(update_fields=["stock_no"])
    stock_io_sent = False
    try:
        transport().post(device, "insertStockIO", stock_request(document, device), document=document)
        stock_io_sent = True
        codes = {line["itemCd"] for line in document.request["itemList"]}
        remaining = dict(Product.objects.filter(fiscal_item__item_code__in=codes, fiscal_item__pin=device.pin)
                         .values_list("fiscal_item__item_code", "stock_quantity"))
        for code in sorted(codes):
            transport().post(device, "saveStockMaster", {
                "itemCd": code, "rsdQty": _num(remaining.get(code, 0)), "regrId": REGISTRAR, "regrNm": REGISTRAR,
                "modrId": REGISTRAR, "modrNm": REGISTRAR}, document=document)
    except TransportError as exc:
        return _wait(document, now, f"stock report: {exc}")
    except KraError as exc:
        with transaction.atomic():
            if not stock_io_sent and give_back_number(device, "sar", document.stock_no):
                document.stock_no = None
            document.stock_status = StockStatus.FAILED
            document.stock_error = f"KRA {exc.code}: {exc.message}"[:300]
            document.save(update_fields=["stock_no", "stock_status", "stock_error"])
        return "failed"
    document.stock_status = StockStatus.SENT
    document.stock_error, document.last_error, document.next_attempt_at = "", "", None
    document.save(update_fields=["stock_status", "stock_error", "last_error", "next_attempt_at"])
    return "sent"


# --- blocked and failed documents -------------------------------------------------------------------

def unblock_ready(device) -> int:
    """Blocked documents whose items are registered now (or whose original sale is signed) queue again."""
    freed = 0
    for document in Document.objects.filter(device=device, status=DocumentStatus.BLOCKED).select_related("sale",
                                                                                                         "sale_return"):
        if document.kind == DocumentKind.CREDIT_NOTE and document.original_invoice_no is None:
            original = _original(document)
            if not original or original.status != DocumentStatus.SIGNED:
                continue
        products = [line["product"] for line in document_lines(document)]
        items = {item.product_id: item for item in FiscalItem.objects.filter(product__in=products)}
        if any(items.get(p.pk) is None or items[p.pk].status == ItemStatus.REJECTED for p in products):
            continue
        document.status, document.last_error = DocumentStatus.QUEUED, ""
        document.save(update_fields=["status", "last_error"])
        freed += 1
    return freed


def resend_document(document, *, user=None) -> Document:
    """A manager sends a failed or blocked document again (after fixing what KRA complained about).
    Its refused items are sent again too; it takes a new invoice number when it goes."""
    if document.status == DocumentStatus.SIGNED:
        if document.stock_status != StockStatus.FAILED:
            raise ServiceError(f"{document} is signed already: a reprint comes from the stored answer.",
                               code="already_signed")
        document.stock_status, document.stock_error = StockStatus.PENDING, ""
        document.save(update_fields=["stock_status", "stock_error"])
        return document
    for item in FiscalItem.objects.filter(status=ItemStatus.REJECTED,
                                          product__in=[line["product"] for line in document_lines(document)]):
        resend_item(item, user=user)
    document.status = DocumentStatus.QUEUED
    document.attempts, document.next_attempt_at, document.last_error = 0, None, ""
    document.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
    return document


def retry_now(device) -> int:
    """Everything waiting on back-off is tried at the next run (the manager's "KRA is back" button)."""
    return (Document.objects.filter(device=device, status=DocumentStatus.QUEUED, next_attempt_at__isnull=False)
            .update(next_attempt_at=None))


def sdc_moment(document):
    """The SCU's date and time of a signed document (sdcDateTime, not our clock)."""
    try:
        return datetime.strptime(document.sdc_datetime, "%Y%m%d%H%M%S")
    except (TypeError, ValueError):
        return None
