"""Logging filters (config/settings.py LOGGING).

A client's mistake is not a server's problem: Django logs every 4xx response of a view (an unknown
barcode's 404, a cashier's 403, a 400 with field errors) on `django.request` as a WARNING, with the
exception's traceback for 403s. QuietClientErrors turns those into one INFO line without a traceback;
5xx stay ERRORs with their traceback.
"""

import logging


class QuietClientErrors(logging.Filter):
    def filter(self, record):
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True
