import re

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny, IsAuthenticated

from pos.core.i18n import switch_language
from pos.sales.checkout import admin_home
from pos.tills import views as till_views


def favicon(request):
    """Browsers ask /favicon.ico on every page whatever the page links: the shop's icon, not a 404."""
    return HttpResponsePermanentRedirect(static_url("pos/favicon.ico"))


DOCS_PERMISSIONS = [AllowAny] if settings.API_DOCS_PUBLIC else [IsAuthenticated]


def docs_page(view):
    return view if settings.API_DOCS_PUBLIC else login_required(view, login_url="admin:login")


@login_required(login_url="admin:login")
def media(request, path):
    if path.startswith("exports/") and not request.user.has_perm("reports.view_reports"):
        raise PermissionDenied
    return serve(request, path, document_root=settings.MEDIA_ROOT)


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
    # The API's description needs a login unless DEBUG is on (API_DOCS_PUBLIC): token or admin session.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=DOCS_PERMISSIONS), name="schema"),
    path("swagger/", docs_page(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path("redoc/", docs_page(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("api/fiscal/", include("pos.fiscal.urls")),
    path("sandbox/etims/", include("pos.fiscal.simulator_urls")),
    path("sandbox/", include("pos.payments.sandbox.urls")),
    path("sandbox/", include("pos.c2b.sandbox_urls")),
]
if settings.DEBUG:
    # Uploads while developing (in production the proxy serves MEDIA_ROOT/products only). Never to an
    # anonymous user, and report exports only to who may see reports (downloads normally go through
    # /api/reports/sales-lines/export/jobs/<id>/download/).
    media_prefix = re.escape(settings.MEDIA_URL.lstrip("/"))
    urlpatterns += [re_path(rf"^{media_prefix}(?P<path>.*)$", media)]
