import pytest

from tests.faults.proxy import FaultProxy
from tests.payments.conftest import other_manager, sandbox, unused_port  # noqa: F401 - fixtures shared with payments


@pytest.fixture
def faults(sandbox, settings):  # noqa: F811
    """The fault proxy between the gateways and the sandbox (callbacks still go straight to us).
    Short client timeouts and back-offs, so each fault settles within a test's few seconds."""
    proxy = FaultProxy(sandbox.url, hold_seconds=3.0)
    settings.SANDBOX_BASE_URL = proxy.url + "/sandbox"
    settings.PAYMENT_HTTP_TIMEOUT = 2.0
    settings.PAYMENT_VERIFY_AFTER_SECONDS = 0
    settings.PAYMENT_MAX_VERIFY_INTERVAL = 0
    yield proxy
    proxy.close()
