"""Report pages inside the admin (/admin/reports/...)."""

from django.contrib import admin
from django.urls import path

from pos.reports import views

app_name = "reports"

urlpatterns = [
    path("sales/", admin.site.admin_view(views.sales_page), name="sales"),
    path("profit/", admin.site.admin_view(views.profit_page), name="profit"),
    path("inventory/", admin.site.admin_view(views.inventory_page), name="inventory"),
    path("shift/<int:pk>/", admin.site.admin_view(views.shift_page), name="shift"),
    path("shift/<int:pk>/pdf/", admin.site.admin_view(views.shift_pdf_view), name="shift_pdf"),
]
