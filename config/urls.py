from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from pos.core.i18n import switch_language
from pos.sales.checkout import admin_home
from pos.tills import views as till_views


def favicon(request):
    """Browsers ask /favicon.ico on every page whatever the page links: the shop's icon, not a 404."""
    return HttpResponsePermanentRedirect(static_url("pos/favicon.ico"))


urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("favicon.ico", favicon),
    path("i18n/language/", switch_language, name="switch-language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/checkout/sw.js", till_views.service_worker, name="till-sw"),
    path("admin/checkout/manifest.webmanifest", till_views.manifest, name="till-manifest"),
    path("admin/checkout/", include("pos.sales.checkout_urls")),
    path("admin/reports/", include("pos.reports.admin_urls")),
    path("admin/", admin_home),
    path("admin/", admin.site.urls),
    path("api/auth/", include("pos.accounts.urls")),
    path("api/products/", include("pos.catalog.urls")),
    path("api/inventory/", include("pos.inventory.urls")),
    path("api/sales/", include("pos.sales.urls")),
    path("api/payments/", include("pos.payments.urls")),
    path("api/reports/", include("pos.reports.urls")),
    path("api/tills/", include("pos.tills.urls")),
    path("api/c2b/", include("pos.c2b.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("swagger/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/fiscal/", include("pos.fiscal.urls")),
    path("sandbox/etims/", include("pos.fiscal.simulator_urls")),
    path("sandbox/", include("pos.payments.sandbox.urls")),
    path("sandbox/", include("pos.c2b.sandbox_urls")),
]
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
