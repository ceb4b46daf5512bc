"""The two calls pos.sales makes: after a sale becomes paid and after a return is taken. Each queues
the document once the sale's transaction has committed, and never lets eTIMS fail a sale: anything
that goes wrong here is logged and the periodic sweep queues the document later."""

import logging
from functools import partial

from django.db import transaction

log = logging.getLogger("pos.fiscal")


def _after_commit(enqueue, pk):
    from pos.fiscal.services import kick

    try:
        if enqueue(pk):
            kick()
    except Exception:  # noqa: BLE001 - the till must not fail because of eTIMS; the sweep retries
        log.exception("eTIMS: could not queue %s %s (the sweep will)", enqueue.__name__, pk)


def sale_paid(sale):
    from pos.fiscal.services import enqueue_sale

    transaction.on_commit(partial(_after_commit, enqueue_sale, sale.pk))


def return_taken(sale_return):
    from pos.fiscal.services import enqueue_return

    transaction.on_commit(partial(_after_commit, enqueue_return, sale_return.pk))
