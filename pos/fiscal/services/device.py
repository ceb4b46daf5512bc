"""The branch's device: which one signs, initialisation (selectInitOsdcInfo) and the code tables."""

import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pos.core.errors import ServiceError
from pos.fiscal.models import Code, Device, ItemClass, Mode
from pos.fiscal.services.secrets import encrypt
from pos.fiscal.services.transport import KraError, TransportError, transport

CACHE_SECONDS = 30
SETTINGS_FIELDS = ["name", "pin", "branch_id", "serial", "mode", "base_url", "is_active", "enabled_at", "updated_at"]
_active = {"at": 0.0, "pk": None}


def forget_active_device():
    """Drop this process's memory of the active device (after a device changes)."""
    _active.update(at=0.0, pk=None)


def active_device_id():
    """The pk of the device that signs this install's sales, or None when eTIMS is off. Remembered for
    CACHE_SECONDS so a sale costs one query at most now and then; the default device (from the
    ETIMS_* settings) is created the first time when ETIMS_MODE is not off."""
    now = time.monotonic()
    if now - _active["at"] < CACHE_SECONDS:
        return _active["pk"]
    device = Device.objects.filter(is_active=True).first()
    if device is None and settings.ETIMS_MODE != Mode.OFF:
        device = default_device()
    pk = device.pk if device and device.mode != Mode.OFF else None
    _active.update(at=now, pk=pk)
    return pk


def active_device():
    pk = active_device_id()
    return Device.objects.get(pk=pk) if pk else None


def default_device() -> Device:
    """The device described by the ETIMS_* settings (created once)."""
    try:
        with transaction.atomic():
            device, _ = Device.objects.get_or_create(
                pin=settings.ETIMS_PIN, branch_id=settings.ETIMS_BRANCH_ID,
                defaults={"serial": settings.ETIMS_DEVICE_SERIAL, "mode": settings.ETIMS_MODE,
                          "enabled_at": timezone.now(),
                          "base_url": settings.ETIMS_BASE_URL, "name": settings.SHOP_NAME[:80],
                          "is_active": not Device.objects.filter(is_active=True).exists()})
    except IntegrityError:
        device = Device.objects.get(pin=settings.ETIMS_PIN, branch_id=settings.ETIMS_BRANCH_ID)
    return device


def save_device(device, *, user=None) -> Device:
    """Validate and save a device's settings (the admin's form). Activating one deactivates the others."""
    device.pin = (device.pin or "").strip().upper()
    device.branch_id = (device.branch_id or "").strip()
    if len(device.pin) != 11:
        raise ServiceError("A KRA PIN has 11 characters, e.g. P051234567X.", field="pin")
    if len(device.branch_id) != 2 or not device.branch_id.isdigit():
        raise ServiceError("The branch id has two digits (00 is the head office).", field="branch_id")
    before = Device.objects.filter(pk=device.pk).values_list("mode", flat=True).first() if device.pk else None
    if device.mode != Mode.OFF and (before in (None, Mode.OFF) or device.enabled_at is None):
        device.enabled_at = timezone.now()
    with transaction.atomic():
        if device.is_active:
            Device.objects.filter(is_active=True).exclude(pk=device.pk).update(is_active=False)
        if device.pk:  # what KRA issued (ids, key) and the runner's lease are never overwritten from a form
            device.save(update_fields=SETTINGS_FIELDS)
        else:
            device.save()
    forget_active_device()
    return device


def initialise_device(device, *, user=None) -> Device:
    """Ask the SCU for this branch's device (selectInitOsdcInfo) and keep the SCU id, device id, MRC
    number and the communication key (encrypted). KRA issues the key once: asking again for a device it
    has installed is answered with an error, which is kept and shown."""
    if device.mode == Mode.OFF:
        raise ServiceError("eTIMS is off for this device: choose a mode first.", field="mode")
    body = {"tin": device.pin, "bhfId": device.branch_id, "dvcSrlNo": device.serial}
    try:
        envelope = transport().post(device, "selectInitOsdcInfo", body)
    except KraError as exc:
        device.init_error = exc.message[:300]
        device.save(update_fields=["init_error", "updated_at"])
        raise ServiceError(f"KRA refused the initialisation: {exc.code} {exc.message}", code="kra_refused") from exc
    except TransportError as exc:
        raise ServiceError(f"KRA did not answer: {exc}. Try again later.", code="kra_unreachable") from exc
    info = ((envelope.get("data") or {}).get("info")) or {}
    if not info.get("cmcKey") or not info.get("sdcId"):
        raise ServiceError("KRA's answer has no sdcId/cmcKey.", code="kra_bad_answer")
    device.sdc_id, device.dvc_id, device.mrc_no = info["sdcId"], info.get("dvcId", ""), info.get("mrcNo", "")
    device.taxpayer_name = info.get("taxprNm", "")[:200]
    device.cmc_key_encrypted = encrypt(info["cmcKey"])
    device.initialised_at = timezone.now()
    device.init_error = ""
    device.save()
    forget_active_device()
    return device


def ensure_initialised(device) -> bool:
    """Demo devices initialise themselves against the simulator; others wait for the admin."""
    if device.is_initialised:
        return True
    if device.mode != Mode.DEMO:
        return False
    try:
        initialise_device(device)
    except ServiceError as exc:
        Device.objects.filter(pk=device.pk).update(init_error=exc.message[:300])
        return False
    return True


def _req_dt(value):
    return value or "20000101000000"


def refresh_code_tables(device) -> dict:
    """Fetch the code tables and item classes changed since the last refresh (lastReqDt) and keep them."""
    if not device.is_initialised:
        raise ServiceError("Initialise the device first.", code="not_initialised")
    counts = {"codes": 0, "item_classes": 0}
    try:
        envelope = transport().post(device, "selectCodeList", {"lastReqDt": _req_dt(device.codes_last_req_dt)})
        for cls in ((envelope.get("data") or {}).get("clsList") or []):
            for row in cls.get("dtlList") or []:
                Code.objects.update_or_create(code_class=cls["cdCls"], code=row["cd"], defaults={
                    "class_name": cls.get("cdClsNm", "")[:100], "name": row.get("cdNm", "")[:200],
                    "sort_order": int(row.get("srtOrd") or 0), "in_use": row.get("useYn", "Y") == "Y",
                    "extra": str(row.get("userDfnCd1") or "")[:100]})
                counts["codes"] += 1
        device.codes_last_req_dt = envelope.get("resultDt") or device.codes_last_req_dt
        envelope = transport().post(device, "selectItemClsList",
                                    {"lastReqDt": _req_dt(device.item_classes_last_req_dt)})
        for row in ((envelope.get("data") or {}).get("itemClsList") or []):
            ItemClass.objects.update_or_create(code=row["itemClsCd"], defaults={
                "name": row.get("itemClsNm", "")[:200], "level": int(row.get("itemClsLvl") or 1),
                "tax_type": row.get("taxTyCd") or "", "in_use": row.get("useYn", "Y") == "Y"})
            counts["item_classes"] += 1
        device.item_classes_last_req_dt = envelope.get("resultDt") or device.item_classes_last_req_dt
    except (KraError, TransportError) as exc:
        device.save(update_fields=["codes_last_req_dt", "item_classes_last_req_dt", "updated_at"])
        raise ServiceError(f"Code tables: {exc}", code="kra_error") from exc
    device.save(update_fields=["codes_last_req_dt", "item_classes_last_req_dt", "updated_at"])
    return counts
