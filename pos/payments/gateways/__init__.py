"""Payment gateways: one module per provider behind one interface (see base.py)."""

from pos.payments.gateways.base import (
    CallbackError,
    Gateway,
    GatewayError,
    GatewayResult,
    ParsedCallback,
    get_gateway,
    normalise_msisdn,
)

__all__ = ["CallbackError", "Gateway", "GatewayError", "GatewayResult", "ParsedCallback", "get_gateway",
           "normalise_msisdn"]
