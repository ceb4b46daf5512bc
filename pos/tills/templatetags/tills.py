from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import json_script

from pos.tills.services import pricing_rules

register = template.Library()


@register.simple_tag(takes_context=True)
def till_config(context):
    """What the offline till needs to know about the page and the user, as a JSON script element."""
    user = context["request"].user
    config = {
        "user": user.pk, "username": user.get_username(), "currency": settings.CURRENCY,
        "pricing": pricing_rules(user),  # until the catalogue sync brings the server's current rules
        "block_low": max(5, settings.OFFLINE_BLOCK_SIZE // 2),
        "heartbeat_seconds": settings.OFFLINE_HEARTBEAT_SECONDS,
        "urls": {
            "register": reverse("till-register"), "catalogue": reverse("till-catalogue"),
            "blocks": "/api/tills/{device}/blocks/", "status": "/api/tills/{device}/status/",
            "refused": "/api/tills/{device}/refused/",
            "sales": "/api/sales/sales/", "shift_current": "/api/sales/shifts/current/",
            "quick_keys": "/api/products/quick-keys/", "sw": reverse("till-sw"), "page": reverse("checkout:page"),
        },
    }
    return json_script(config, "till-config")
