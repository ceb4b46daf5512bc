"""The checkout page, mounted at /admin/checkout/ by config/urls.py."""

from django.urls import path

from pos.sales import checkout as views

app_name = "checkout"

urlpatterns = [
    path("", views.page_view(views.page), name="page"),
    path("api/scan/", views.api_view(views.scan), name="scan"),
    path("api/search/", views.api_view(views.search), name="search"),
    path("api/price/", views.api_view(views.price), name="price"),
    path("api/sales/", views.api_view(views.sales), name="sales"),
    path("api/sales/<int:pk>/", views.api_view(views.sale_detail), name="sale"),
    path("api/sales/<int:pk>/cancel/", views.api_view(views.sale_cancel), name="sale-cancel"),
    path("api/sales/<int:pk>/payments/", views.api_view(views.pay), name="pay"),
    path("api/payments/<int:pk>/", views.api_view(views.payment_detail), name="payment"),
    path("api/payments/<int:pk>/cancel/", views.api_view(views.payment_cancel), name="payment-cancel"),
    path("api/payments/<int:pk>/verify/", views.api_view(views.payment_verify), name="payment-verify"),
    path("api/shift/", views.api_view(views.shift), name="shift"),
    path("api/shift/open/", views.api_view(views.shift_open), name="shift-open"),
    path("api/shift/close/", views.api_view(views.shift_close), name="shift-close"),
    path("sales/<int:pk>/receipt/", views.api_view(views.receipt), name="receipt"),
    path("sales/<int:pk>/receipt.pdf", views.api_view(views.receipt_pdf), name="receipt-pdf"),
]
