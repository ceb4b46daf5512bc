"""The URLs Daraja calls for C2B: validation, confirmation (and the Pull Transactions callback).

Plain Django views, not DRF: the raw body is stored before anything else (no parser, no throttle, no
authentication may drop it first). Thin: the work is in services.receive_notification.
"""

from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from pos.c2b import services
from pos.c2b.models import NotificationKind


def _hook(kind):
    @csrf_exempt
    def view(request, token):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("cookie", "authorization")}
        handled = services.receive_notification(kind, request.body, headers,
                                                source_ip=request.META.get("REMOTE_ADDR"), token=token)
        return JsonResponse(handled.answer)
    view.__name__ = f"c2b_{kind}"
    return view


validation = _hook(NotificationKind.VALIDATION)
confirmation = _hook(NotificationKind.CONFIRMATION)
pull_notice = _hook(NotificationKind.PULL)
