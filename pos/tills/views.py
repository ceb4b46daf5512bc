"""The service worker and the web manifest of the till, served under /admin/checkout/ so the worker's
scope covers the checkout page (a worker served from /static/ could only control /static/)."""

import json

from django.conf import settings
from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

SW_VERSION = "2"
WORKBOX = ["pos/offline/vendor/workbox-7.4.1/workbox-core.prod.js",
           "pos/offline/vendor/workbox-7.4.1/workbox-routing.prod.js",
           "pos/offline/vendor/workbox-7.4.1/workbox-strategies.prod.js"]

SERVICE_WORKER = """/* Duka POS till service worker (version %(version)s): the checkout page and its files stay available
 * when the network is down. The page is network-first (a fresh page whenever the server answers within
 * %(timeout)s s, the cached one otherwise), and so is the JavaScript translation catalogue (it follows the
 * language of whoever is logged in); static files are served from the cache and refreshed behind.
 * Sales and the catalogue never pass through here: the page keeps them in IndexedDB (pos/static/pos/offline/till.js). */
importScripts(%(workbox)s);
const { registerRoute, NavigationRoute } = workbox.routing;
const { NetworkFirst, StaleWhileRevalidate } = workbox.strategies;
self.skipWaiting();
workbox.core.clientsClaim();
registerRoute(new NavigationRoute(new NetworkFirst({ cacheName: "duka-till-pages", networkTimeoutSeconds: %(timeout)s }),
  { allowlist: [new RegExp("^" + %(scope)s)] }));
registerRoute(({ url }) => url.origin === self.location.origin && (url.pathname.startsWith(%(static)s)
  || url.pathname === %(manifest)s), new StaleWhileRevalidate({ cacheName: "duka-till-static" }));
registerRoute(({ url }) => url.origin === self.location.origin && url.pathname === %(catalog)s,
  new NetworkFirst({ cacheName: "duka-till-static", networkTimeoutSeconds: %(timeout)s }));
"""


@require_GET
@never_cache
def service_worker(request):
    scope = reverse("checkout:page")
    body = SERVICE_WORKER % {
        "version": SW_VERSION, "timeout": 4, "scope": json.dumps(scope),
        "workbox": ", ".join(json.dumps(static(path)) for path in WORKBOX),
        "static": json.dumps(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}"),
        "manifest": json.dumps(reverse("till-manifest")),
        "catalog": json.dumps(reverse("javascript-catalog")),
    }
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = scope
    return response


@require_GET
def manifest(request):
    page = reverse("checkout:page")
    data = {
        "name": f"{settings.SHOP_NAME} till", "short_name": "Till", "start_url": page, "scope": page,
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#9333ea",
        "description": "The checkout till; it keeps selling when the internet drops.",
        "icons": [{"src": static("pos/offline/till-icon.svg"), "sizes": "any", "type": "image/svg+xml",
                   "purpose": "any"}],
    }
    return HttpResponse(json.dumps(data), content_type="application/manifest+json")
