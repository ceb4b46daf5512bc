"""Requests the checkout page makes, for the tests."""

import json

from django.urls import reverse


def post(client, name, body, key=None, args=()):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(reverse(f"checkout:{name}", args=args), json.dumps(body), content_type="application/json",
                       **headers)


def cart(*lines, discount_percent="0"):
    """cart((product, quantity, discount %), ...) as the page sends it."""
    return {"items": [{"product": p.pk, "quantity": q, "discount_percent": d} for p, q, d in lines],
            "discount_percent": discount_percent}


def pay(client, sale_id, key, **body):
    return post(client, "pay", body, key=key, args=[sale_id])
