"""Cash: the money is in the drawer the moment the cashier records it."""

from pos.payments.gateways.base import Gateway, GatewayResult


class CashGateway(Gateway):
    method = "cash"
    provider = "cash"

    def initiate(self, payment) -> GatewayResult:
        return GatewayResult(status="completed", amount=payment.amount, currency=payment.currency)

    def verify(self, payment) -> GatewayResult:
        return GatewayResult(status="completed", amount=payment.amount, currency=payment.currency)

    def refund(self, payment, amount, refund=None) -> GatewayResult:
        return GatewayResult(status="completed", amount=amount, currency=payment.currency)
