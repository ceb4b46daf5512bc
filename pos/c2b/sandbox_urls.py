"""The C2B part of the M-Pesa simulator, mounted under /sandbox/ next to pos.payments.sandbox.urls."""

from django.urls import path

from pos.c2b import sandbox

urlpatterns = [
    path("mpesa/mpesa/c2b/v1/registerurl", sandbox.register_url, name="sandbox-mpesa-c2b-register-v1"),
    path("mpesa/mpesa/c2b/v2/registerurl", sandbox.register_url, name="sandbox-mpesa-c2b-register"),
    path("mpesa/mpesa/c2b/v1/simulate", sandbox.simulate, name="sandbox-mpesa-c2b-simulate"),
    path("mpesa/pulltransactions/v1/register", sandbox.pull_register, name="sandbox-mpesa-pull-register"),
    path("mpesa/pulltransactions/v1/query", sandbox.pull_query, name="sandbox-mpesa-pull-query"),
    path("mpesa/c2b/phone/", sandbox.phone_page, name="sandbox-mpesa-c2b-phone"),
]
