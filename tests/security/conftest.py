# The browser fixtures of the end-to-end tests (Debian's chromium through Playwright).
from tests.e2e.conftest import browser_page, login, shop  # noqa: F401
