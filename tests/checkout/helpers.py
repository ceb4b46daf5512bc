"""The REST requests the checkout page makes, for the tests (the page has no API of its own)."""

import json

SALES = "/api/sales/sales/"


def post(client, path, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def cart(*lines, discount_percent="0", payments=None):
    """cart((product, quantity, discount %), ...) as the page sends it."""
    body = {"items": [{"product": p.pk, "quantity": q, "discount_percent": d} for p, q, d in lines],
            "discount_percent": discount_percent}
    if payments is not None:
        body["payments"] = payments
    return body


def checkout(client, body, key):
    """The page's first tender: the sale and its payments in one request."""
    return post(client, f"{SALES}?receipt=1", body, key=key)


def pay(client, sale_id, key, **body):
    return post(client, f"{SALES}{sale_id}/pay/?receipt=1", body, key=key)


def sale(client, sale_id):
    return client.get(f"{SALES}{sale_id}/?receipt=1").json()


def payment_of(sale_json, payment_id):
    return next(p for p in sale_json["payments"] if p["id"] == payment_id)
