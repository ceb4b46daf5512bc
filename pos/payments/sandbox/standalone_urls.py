"""URLconf of `manage.py run_sandbox`: the simulators alone, at the same /sandbox/ prefix."""

from django.urls import include, path

urlpatterns = [
    path("sandbox/", include("pos.payments.sandbox.urls")),
    path("sandbox/", include("pos.c2b.sandbox_urls")),  # M-Pesa C2B and Pull Transactions
]
