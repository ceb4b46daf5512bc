"""What the simulated customer does, chosen by phone number (mobile money) or amount (card).

M-Pesa (PhoneNumber, any spelling that normalises to it: 0708374149, +254708374149 ...)

    ===============  ==========================================================================
    254708374149     approves after SANDBOX_CALLBACK_DELAY: callback ResultCode 0 with receipt
    254700000032     ResultCode 1032, cancelled by the user
    254700001037     ResultCode 1037, timeout: the phone could not be reached
    254700002001     ResultCode 2001, wrong PIN
    254700000001     ResultCode 1, insufficient balance
    254700000404     pays but NEVER calls back; STK Query reports ResultCode "0" after the delay
    254700000408     never calls back; STK Query answers "500.001.1001 being processed" forever
    254700000002     approves and calls back TWICE with the same body (duplicate)
    254700000500     the push is ACTED ON (callback as 254708374149) but answered HTTP 500 with an HTML page
    254700000504     the push is ACTED ON but its answer is held SANDBOX_SLOW_SECONDS (a read timeout)
    254700000409     approves and calls back, but STK Query says "being processed" for SANDBOX_QUERY_LAG
                     seconds more (the query lags the callback)
    254700000014     approves; every STK Query answers after SANDBOX_SLOW_SECONDS (default 14)
    254700000003     callback ResultCode "SFC_IC0003" (a string) "The operator does not exist"
    254700001031     ResultCode 1031, request cancelled by user
    254700001019     ResultCode 1019, transaction expired
    254700000600     approves; a REVERSAL of this payment first sends a queue-timeout notice (ResultType 1)
                     to QueueTimeOutURL, then the real result to ResultURL after another delay
    any other        approves like 254708374149
    ===============  ==========================================================================

    A second push to the same number for the same amount while the first is still in process
    (within 2 minutes) is refused with 500.001.1001 "... already in process", as Daraja does.
    A paybill push whose PartyB is not the BusinessShortCode ends with ResultCode 2028.

Airtel Money (subscriber.msisdn, 9 digits without the country code)

    ===============  ==========================================================================
    708374149        TS (success): callback after the delay, status TS
    700000001        TF (failed, DP00800001007 insufficient funds): callback TF, status TF
    700000002        TA (ambiguous) on the first status query, TS on the next; no callback
    700000404        succeeds but NEVER calls back; status TIP until the delay passes, then TS
    700000201        TS; its REFUND is answered like the developer portal does: status.success false,
                     status.message "SUCCESS", data.transaction.status "SUCCESS" (refunded)
    700000202        TS; its REFUND is answered "in process" (DP00800001006, TIP); the refund's enquiry
                     says TIP until the delay passes, then TS
    any other        TS like 708374149
    ===============  ==========================================================================

Card (Flutterwave)

    A charge ending in .77 gets refunds that stay `pending` for the callback delay.
    An amount ending in .13 is declined; anything else is approved when the hosted page's Pay
    button is pressed (Decline declines). POST /sandbox/flutterwave/simulate/<tx_ref>/ does the
    same for API tests: {"outcome": "successful"|"failed", "bad_signature": false,
    "duplicate": false, "amount": optional charged amount, "currency": optional}.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class MpesaScenario:
    result_code: int = 0
    result_desc: str = "The service request is processed successfully."
    callbacks: int = 1        # how many times the callback is sent (0: never)
    resolves: bool = True     # False: the query says "being processed" forever
    answer: str = "ok"        # ok | error500 (acted, answered 500) | slow (acted, answer held)
    query_lag: bool = False   # the query says "being processed" for a while after the callback
    slow_query: bool = False  # every query answers after SANDBOX_SLOW_SECONDS
    reversal_timeout: bool = False  # a reversal sends a queue-timeout notice before its real result


MPESA_APPROVE = MpesaScenario()
MPESA = {
    "254708374149": MPESA_APPROVE,
    "254700000032": MpesaScenario(1032, "Request cancelled by user"),
    "254700001037": MpesaScenario(1037, "DS timeout user cannot be reached"),
    "254700002001": MpesaScenario(2001, "The initiator information is invalid."),
    "254700000001": MpesaScenario(1, "The balance is insufficient for the transaction."),
    "254700000404": MpesaScenario(callbacks=0),
    "254700000408": MpesaScenario(callbacks=0, resolves=False),
    "254700000002": MpesaScenario(callbacks=2),
    "254700000500": MpesaScenario(answer="error500"),
    "254700000504": MpesaScenario(answer="slow"),
    "254700000409": MpesaScenario(query_lag=True),
    "254700000014": MpesaScenario(slow_query=True),
    "254700000003": MpesaScenario("SFC_IC0003", "[MpesaCB - ]The operator does not exist"),
    "254700001031": MpesaScenario(1031, "Request cancelled by user"),
    "254700001019": MpesaScenario(1019, "Transaction has expired"),
    "254700000600": MpesaScenario(reversal_timeout=True),
}
MPESA_WRONG_PARTY_B = MpesaScenario(2028, "The request is not permitted according to product assignment.")


def mpesa_scenario(phone: str) -> MpesaScenario:
    return MPESA.get(phone, MPESA_APPROVE)


@dataclass(frozen=True)
class AirtelScenario:
    status: str = "TS"
    response_code: str = "DP00800001001"
    message: str = "Transaction is successful"
    callback: bool = True
    ambiguous_first: bool = False
    refund_answer: str = "ok"  # ok | portal (success false + SUCCESS) | in_process


AIRTEL_APPROVE = AirtelScenario()
AIRTEL = {
    "708374149": AIRTEL_APPROVE,
    "700000001": AirtelScenario("TF", "DP00800001007", "Insufficient funds"),
    "700000002": AirtelScenario(callback=False, ambiguous_first=True),
    "700000404": AirtelScenario(callback=False),
    "700000201": AirtelScenario(refund_answer="portal"),
    "700000202": AirtelScenario(refund_answer="in_process"),
}


def airtel_scenario(msisdn: str) -> AirtelScenario:
    return AIRTEL.get(msisdn, AIRTEL_APPROVE)


def card_declines(amount: Decimal) -> bool:
    return Decimal(amount).quantize(Decimal("0.01")) % 1 == Decimal("0.13")


def card_refund_pending(amount: Decimal) -> bool:
    """A refund of a charge whose amount ends in .77 answers `pending`; GET /v3/refunds/<id> then says
    completed after the callback delay."""
    return Decimal(amount).quantize(Decimal("0.01")) % 1 == Decimal("0.77")
