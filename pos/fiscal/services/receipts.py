"""What a receipt shows of eTIMS: the signed block, built from the stored answer (never signed again).
Its words are translated when the receipt is rendered (in the cashier's language: pos.sales.receipts)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pos.fiscal.models import Document, DocumentKind, DocumentStatus, Mode

TAX_INVOICE = gettext_lazy("TAX INVOICE")
CREDIT_NOTE = gettext_lazy("CREDIT NOTE")
FOLLOWS = gettext_lazy("The signed data follows")
STATUS_NOTES = {
    DocumentStatus.FAILED: gettext_lazy("KRA refused this document: the manager is resending it"),
    DocumentStatus.BLOCKED: gettext_lazy("Waiting for KRA (item registration)"),
}

RECEIPT_LINK = "https://{host}.kra.go.ke/common/link/etims/receipt/indexEtimsReceiptData?Data={data}"


def groups_of_four(value: str) -> str:
    """ABCDEFGHIJ -> ABCD-EFGH-IJ (how KRA's receipts print intrlData and rcptSign)."""
    value = value or ""
    return "-".join(value[i:i + 4] for i in range(0, len(value), 4))


def verification_url(pin: str, branch_id: str, signature: str, mode: str = Mode.PRODUCTION) -> str:
    """The QR code's URL: KRA PIN (11) + branch id (2) + receipt signature (16); etims-sbx off production."""
    if len(pin) != 11 or len(branch_id) != 2 or len(signature) != 16:
        raise ValueError(f"eTIMS receipt link needs PIN(11)+branch(2)+signature(16), got "
                         f"{len(pin)}+{len(branch_id)}+{len(signature)}")
    host = "etims" if mode == Mode.PRODUCTION else "etims-sbx"
    return RECEIPT_LINK.format(host=host, data=f"{pin}{branch_id}{signature}")


def sdc_display(stamp: str) -> str:
    """20261126143005 -> 26/11/2026 14:30:05 (the SCU's own clock)."""
    if len(stamp or "") != 14:
        return stamp or ""
    return f"{stamp[6:8]}/{stamp[4:6]}/{stamp[0:4]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}"


@dataclass
class SignedBlock:
    document: Document
    title: str  # lazy: translated where the receipt is rendered
    signed: bool
    sdc_datetime: str = ""
    sdc_id: str = ""
    cu_invoice_no: str = ""
    counters: str = ""
    internal_data: str = ""
    signature: str = ""
    url: str = ""
    original_cu_invoice_no: str = ""
    status_note: str = ""  # lazy, like the title

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows, the same on every receipt format."""
        if not self.signed:
            return []
        rows = [(_("SCU date/time"), self.sdc_datetime), (_("CU ID"), self.sdc_id),
                (_("CU invoice no"), self.cu_invoice_no), (_("Receipt no"), self.counters),
                (_("Internal data"), self.internal_data), (_("Receipt signature"), self.signature)]
        if self.original_cu_invoice_no:
            rows.insert(0, (_("Original CU invoice no"), self.original_cu_invoice_no))
        return rows


def signed_block(document: Document | None, original: Document | None = None) -> SignedBlock | None:
    if document is None:
        return None
    title = TAX_INVOICE if document.kind == DocumentKind.SALE else CREDIT_NOTE
    if document.status != DocumentStatus.SIGNED:
        note = STATUS_NOTES.get(document.status, FOLLOWS)
        return SignedBlock(document=document, title=title, signed=False, status_note=note)
    device = document.device
    try:
        url = verification_url(device.pin, device.branch_id, document.signature, device.mode)
    except ValueError:
        url = ""
    original_no = ""
    if original is not None and original.status == DocumentStatus.SIGNED:
        original_no = original.cu_invoice_no
    return SignedBlock(
        document=document, title=title, signed=True, sdc_datetime=sdc_display(document.sdc_datetime),
        sdc_id=document.sdc_id, cu_invoice_no=document.cu_invoice_no,
        counters=f"{document.receipt_counter}/{document.receipt_total}",
        internal_data=groups_of_four(document.internal_data), signature=groups_of_four(document.signature),
        url=url, original_cu_invoice_no=original_no)


def blocks_for_sale(sale) -> tuple:
    """(the sale's block or None, {sale_return pk: block}) in one query."""
    documents = list(Document.objects.filter(sale=sale).select_related("device"))
    invoice = next((d for d in documents if d.kind == DocumentKind.SALE), None)
    notes = {d.sale_return_id: signed_block(d, invoice) for d in documents if d.kind == DocumentKind.CREDIT_NOTE}
    return signed_block(invoice), notes, invoice
