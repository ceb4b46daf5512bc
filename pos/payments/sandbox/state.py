"""The simulator's memory: the Django cache (a database table or Redis), shared by every process.

Keys are `sandbox:<generation>:<name>`; reset() starts a new generation so tests begin clean
without touching anything else in the cache.
"""

from django.core.cache import cache

DAY = 24 * 3600


def _generation() -> int:
    return cache.get("sandbox:generation", 0)


def _key(name: str) -> str:
    return f"sandbox:{_generation()}:{name}"


def load(name: str, default=None):
    return cache.get(_key(name), default)


def save(name: str, value, timeout=DAY) -> None:
    cache.set(_key(name), value, timeout)


def claim(name: str, value, timeout) -> bool:
    """Store `value` only if nothing is stored under `name` yet; True when stored."""
    return cache.add(_key(name), value, timeout)


def count(name: str) -> int:
    """Add one to a counter and return the new value."""
    value = load(name, 0) + 1
    save(name, value)
    return value


def tokens_issued(provider: str) -> int:
    """How many OAuth tokens the simulator of `provider` (mpesa, airtel) has issued."""
    return load(f"{provider}:tokens_issued", 0)


def reset() -> None:
    cache.set("sandbox:generation", _generation() + 1, None)
