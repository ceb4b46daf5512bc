"""What the shop-floor browser tests share: a cashier logged in at the till with a shift open."""

import contextlib
import shutil

from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM_ARGS


@contextlib.contextmanager
def cashier_at_the_till(live_server, width, height, **context_options):
    """Headless Debian chromium, touch-enabled, at width x height: the cashier (password pass12345) logs
    in, opens a shift with a float of 1000 and the cursor waits in the scanner. Yields the page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True,
                                      **context_options)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/checkout/")
        page.fill("#id_username", "cashier")
        page.fill("#id_password", "pass12345")
        page.click("#login-form [type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/checkout/")
        expect(page.locator("#co-float")).to_be_focused()
        page.keyboard.type("1000")
        page.keyboard.press("Enter")
        expect(page.locator("#co-scan")).to_be_focused()
        yield page
        browser.close()
