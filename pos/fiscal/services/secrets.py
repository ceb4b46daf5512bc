"""The communication key (cmcKey) at rest: encrypted with Fernet under a key from the environment
(ETIMS_ENCRYPTION_KEY, or one derived from SECRET_KEY when that is not set), never logged or shown."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

MASK = "********"
SECRET_FIELDS = {"cmckey", "cmc_key", "authorization", "password", "client_secret", "access_token"}


def _fernet() -> Fernet:
    key = getattr(settings, "ETIMS_ENCRYPTION_KEY", "")
    if not key:
        key = base64.urlsafe_b64encode(hashlib.sha256(f"etims:{settings.SECRET_KEY}".encode()).digest())
    return Fernet(key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("The stored cmcKey cannot be decrypted: ETIMS_ENCRYPTION_KEY changed? "
                         "Initialise the device again.") from None


def mask(data):
    """A copy of `data` (dicts/lists) with every secret value replaced by a mask."""
    if isinstance(data, dict):
        return {k: (MASK if str(k).lower() in SECRET_FIELDS and v else mask(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask(v) for v in data]
    return data
