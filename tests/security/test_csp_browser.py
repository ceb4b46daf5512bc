"""The checkout page under the Content-Security-Policy, in a real chromium: the headers are sent, the
page works (float, scan, cart), and the browser reports no violation of the policy."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_checkout_works_under_the_content_security_policy(live_server, browser_page, login, cashier, shop):
    page = browser_page
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH)
    login(page, "cashier")
    page.wait_for_url(f"{live_server.url}/admin/checkout/")
    headers = page.request.get(f"{live_server.url}/admin/checkout/").headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "camera=()" in headers["permissions-policy"]

    expect(page.locator("#co-float")).to_be_focused()
    page.keyboard.type("500")
    page.keyboard.press("Enter")
    expect(page.locator("#co-scan")).to_be_focused()
    page.keyboard.type(shop["sugar"].barcode)
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=cart-line]")).to_have_count(1)
    expect(page.locator("[data-test=total]")).to_have_text("KES 180.00")

    assert page.evaluate("window.__cspViolations") == []
    assert not [line for line in console if "Content Security Policy" in line], console
