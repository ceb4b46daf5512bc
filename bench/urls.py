"""The shop's URLs plus a bare Django view: the baseline each HTTP benchmark is measured against."""

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as shop_urls


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare/", bare), *shop_urls]
