"""The provider simulators under /sandbox/: the same paths as the real APIs after each base URL."""

from django.urls import path

from pos.payments.sandbox import airtel, flutterwave, mpesa

app_name = "sandbox"

urlpatterns = [
    path("mpesa/oauth/v1/generate", mpesa.oauth, name="mpesa-oauth"),
    path("mpesa/mpesa/stkpush/v1/processrequest", mpesa.stk_push, name="mpesa-stk-push"),
    path("mpesa/mpesa/stkpushquery/v1/query", mpesa.stk_query, name="mpesa-stk-query"),
    path("mpesa/mpesa/reversal/v1/request", mpesa.reversal, name="mpesa-reversal"),
    path("mpesa/mpesa/transactionstatus/v1/query", mpesa.transaction_status, name="mpesa-transaction-status"),
    path("airtel/auth/oauth2/token", airtel.token, name="airtel-token"),
    path("airtel/merchant/v1/payments/", airtel.collect, name="airtel-collect"),
    path("airtel/standard/v1/payments/refund", airtel.refund, name="airtel-refund"),
    path("airtel/standard/v1/payments/<str:transaction_id>", airtel.enquiry, name="airtel-enquiry"),
    path("flutterwave/v3/payments", flutterwave.create_payment, name="flutterwave-payments"),
    path("flutterwave/v3/transactions/verify_by_reference", flutterwave.verify_by_reference,
         name="flutterwave-verify-by-reference"),
    path("flutterwave/v3/transactions/<str:transaction_id>/verify", flutterwave.verify, name="flutterwave-verify"),
    path("flutterwave/v3/transactions/<str:transaction_id>/refund", flutterwave.refund, name="flutterwave-refund"),
    path("flutterwave/v3/refunds/<str:refund_id>", flutterwave.refund_status, name="flutterwave-refund-status"),
    path("flutterwave/pay/<str:tx_ref>/", flutterwave.hosted_page, name="flutterwave-pay"),
    path("flutterwave/simulate/<str:tx_ref>/", flutterwave.simulate, name="flutterwave-simulate"),
]
