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
    path("api/sales/<int:pk>/cash/", views.api_view(views.pay_cash_view), name="pay-cash"),
]
