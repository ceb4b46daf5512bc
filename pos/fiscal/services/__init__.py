"""KRA eTIMS operations (the import point; the code lives in the modules of this package):

- device: the active device, initialisation (selectInitOsdcInfo), code tables;
- items: item codes, tax types, item registration (saveItem) and the sweep of changed products;
- documents: the signing outbox (enqueue, process in order, resend), stock reports;
- receipts: the signed block, the verification URL and its QR;
- books: the day's count and the unsigned documents for check_books;
- transport / secrets: the HTTP calls (replaceable) and the encrypted cmcKey.
"""

from pos.fiscal.services.books import day_summary, unsigned_documents
from pos.fiscal.services.device import (
    active_device,
    active_device_id,
    default_device,
    ensure_initialised,
    forget_active_device,
    initialise_device,
    refresh_code_tables,
    save_device,
)
from pos.fiscal.services.documents import (
    enqueue_missing,
    enqueue_return,
    enqueue_sale,
    kick,
    pending_documents,
    process_outbox,
    resend_document,
    retry_now,
    take_number,
)
from pos.fiscal.services.items import (
    fiscal_item_for,
    register_changed_items,
    register_item,
    resend_item,
    tax_type,
)
from pos.fiscal.services.receipts import blocks_for_sale, groups_of_four, signed_block, verification_url

__all__ = [
    "active_device", "active_device_id", "blocks_for_sale", "day_summary", "default_device", "enqueue_missing",
    "enqueue_return", "enqueue_sale", "ensure_initialised", "fiscal_item_for", "forget_active_device",
    "groups_of_four", "initialise_device", "kick", "pending_documents", "process_outbox", "refresh_code_tables",
    "register_changed_items", "register_item", "resend_document", "resend_item", "retry_now", "save_device",
    "signed_block", "take_number", "tax_type", "unsigned_documents", "verification_url",
]
