"""Talking to the SCU: a JSON POST per operation, headers tin/bhfId/cmcKey, the answer envelope
{resultCd, resultMsg, resultDt, data}. Every call is logged (Call) with its secrets masked.

The transport and its authentication are replaceable: ETIMS_TRANSPORT names a class with the same
`post(device, path, body)` as `OscuTransport` (e.g. one that puts an OAuth token in front for a
gateway that wants one); `OscuTransport.auth_headers` is the single place the headers are made.
"""

import time
from functools import lru_cache

import requests
from django.conf import settings
from django.utils.module_loading import import_string

from pos.fiscal.models import Call, Mode
from pos.fiscal.services.secrets import decrypt, mask

OK_CODES = {"000", "001"}  # success; "no result" (fine for look-ups)
KRA_URLS = {
    Mode.SANDBOX: "https://etims-api-sbx.kra.go.ke/etims-api/",
    Mode.PRODUCTION: "https://etims-api.kra.go.ke/etims-api/",
}


class TransportError(Exception):
    """KRA did not answer usefully (network, timeout, 5xx, not JSON): try again later."""

    transient = True


class KraError(Exception):
    """KRA answered with an error code: the request is refused as it is (kept and shown)."""

    transient = False

    def __init__(self, code, message):
        super().__init__(f"KRA {code}: {message}")
        self.code = code
        self.message = message


def base_url(device) -> str:
    if device.base_url:
        url = device.base_url
    elif device.mode == Mode.DEMO:
        url = settings.ETIMS_SIMULATOR_URL
    else:
        url = KRA_URLS[device.mode]
    return url if url.endswith("/") else url + "/"


class OscuTransport:
    timeout = None

    def auth_headers(self, device, path) -> dict:
        headers = {"tin": device.pin, "bhfId": device.branch_id}
        if path != "selectInitOsdcInfo":
            headers["cmcKey"] = decrypt(device.cmc_key_encrypted)
        return headers

    def post(self, device, path, body, *, document=None, item=None) -> dict:
        """The answer's envelope when resultCd is 000/001; KraError for another code, TransportError when
        there is no usable answer."""
        headers = self.auth_headers(device, path)
        call = Call(device=device, document=document, item=item, path=path, request=mask(body),
                    request_headers=mask(headers))
        started = time.monotonic()
        try:
            response = requests.post(base_url(device) + path, json=body, headers=headers,
                                     timeout=self.timeout or settings.ETIMS_HTTP_TIMEOUT)
            call.http_status = response.status_code
            if response.status_code >= 500 or response.status_code in (408, 429):
                raise TransportError(f"HTTP {response.status_code} from KRA")
            try:
                envelope = response.json()
            except ValueError:
                raise TransportError(f"HTTP {response.status_code}: the answer is not JSON") from None
            if not isinstance(envelope, dict) or "resultCd" not in envelope:
                raise TransportError(f"HTTP {response.status_code}: no resultCd in the answer")
            call.response = mask(envelope)
            call.result_code = str(envelope["resultCd"])
            if call.result_code not in OK_CODES:
                raise KraError(call.result_code, str(envelope.get("resultMsg", ""))[:250])
            return envelope
        except requests.RequestException as exc:
            call.error = f"{type(exc).__name__}: {exc}"[:500]
            raise TransportError(call.error) from exc
        except (TransportError, KraError) as exc:
            call.error = str(exc)[:500]
            raise
        finally:
            call.duration_ms = int((time.monotonic() - started) * 1000)
            call.save()


@lru_cache(maxsize=4)
def _transport_class(path):
    return import_string(path)


def transport():
    return _transport_class(settings.ETIMS_TRANSPORT)()
