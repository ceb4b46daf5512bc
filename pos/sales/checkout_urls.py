"""The checkout page, mounted at /admin/checkout/ by config/urls.py. Its data comes from the REST API."""

from django.urls import path

from pos.sales import checkout as views

app_name = "checkout"

urlpatterns = [
    path("", views.page_view(views.page), name="page"),
]
