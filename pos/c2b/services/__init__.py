"""C2B operations (Lipa na M-Pesa money the customer sent from their own phone). The import point:

    receiving       the two Daraja endpoints' work: raw first, then the register (idempotent on TransID)
    matching        till matching (automatic when provable, by SMS code, picked), deposits, the till panel
    reconciliation  Pull Transactions: receipts the shop never heard of, stuck STK payments, check_books
    registration    registering the C2B URLs and Pull Transactions with Daraja
"""

from pos.c2b.services.matching import (  # noqa: F401
    auto_match,
    auto_match_for_sale,
    look_for_payment,
    match_by_code,
    match_receipt,
    record_deposit,
    sale_reference,
    shift_summary,
    till_view,
    waiting_sales,
)
from pos.c2b.services.receiving import (  # noqa: F401
    ReceivedNotification,
    confirmation_answer,
    purge_old_notifications,
    receive_notification,
    record_receipt,
    validation_answer,
)
from pos.c2b.services.reconciliation import receipts_missing_from_books, reconcile  # noqa: F401
from pos.c2b.services.registration import (  # noqa: F401
    FORBIDDEN_WORDS,
    c2b_urls,
    register_pull,
    register_urls,
    register_with_sandbox_in_background,
)
