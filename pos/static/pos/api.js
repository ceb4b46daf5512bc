/* One way for the checkout page to talk to the server: `posApi.api(method, path, body, options)`.
 *
 * Every server call of the page goes through `api()`; it answers the parsed JSON or throws an ApiError:
 *   - kind "network": the server was not reached (err.network = true; a retry with the same
 *     Idempotency-Key is safe: the server answers the first result);
 *   - kind "timeout": no answer within options.timeoutMs (default 15 s); the request may or may not have
 *     been applied (err.network = true as well: retry with the same key, or re-read the resource);
 *   - kind "http": the server answered 4xx/5xx. err.status, err.code (the service's stable code) and
 *     err.fields ({field: [messages]}, DRF's error shape, nested lists flattened to "items.2.quantity")
 *     say what; err.message is one sentence a cashier can read.
 *   - kind "auth": the session ended (403 "not authenticated" or a redirect to the login page).
 *
 * Options: { idempotencyKey, timeoutMs, headers }.
 * Middleware: `posApi.use(async (request, next) => ...)` wraps every call (request is
 * {method, path, body, idempotencyKey, timeoutMs, headers}); the offline outbox hooks in here: it can
 * answer a request itself when `next(request)` throws an ApiError whose `network` is true.
 */
(function () {
  "use strict";

  const DEFAULT_TIMEOUT_MS = 15000;
  const middleware = [];

  class ApiError extends Error {
    constructor(message, { kind = "http", status = 0, code = "", fields = {}, data = null } = {}) {
      super(message);
      this.name = "ApiError";
      this.kind = kind;
      this.status = status;
      this.code = code;
      this.fields = fields;
      this.data = data;
      this.network = kind === "network" || kind === "timeout";
      this.timeout = kind === "timeout";
    }
  }

  function cookie(name) {
    const match = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function csrfToken() {
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return (field && field.value) || cookie("csrftoken");
  }

  // DRF answers {field: ["message"], code: "..."}, {detail: "..."} or nested lists for many=True
  // serializers ({"items": [{}, {"quantity": ["..."]}]}): flatten to {"items.2.quantity": ["..."]}.
  function flattenErrors(data, prefix = "", out = {}) {
    if (data === null || data === undefined) return out;
    if (typeof data === "string") {
      (out[prefix || "detail"] = out[prefix || "detail"] || []).push(data);
    } else if (Array.isArray(data)) {
      data.forEach((item, i) => {
        if (typeof item === "string") flattenErrors(item, prefix, out);
        else flattenErrors(item, prefix ? `${prefix}.${i + 1}` : String(i + 1), out);
      });
    } else if (typeof data === "object") {
      Object.entries(data).forEach(([key, value]) => {
        if (key === "code" && !prefix && typeof value === "string") return; // the stable code, not a field's messages
        // DRF also answers a list's errors as {index: errors}, counted from 0: number them from 1 as lists are
        const name = prefix && /^\d+$/.test(key) ? String(Number(key) + 1) : key;
        flattenErrors(value, prefix ? `${prefix}.${name}` : name, out);
      });
    }
    return out;
  }

  // The page loads Django's JavaScript catalogue (gettext, interpolate) in the user's language.
  const gettext = (text) => (window.gettext ? window.gettext(text) : text);
  const interpolate = (text, values) => (window.interpolate ? window.interpolate(text, values, true)
    : text.replace(/%\((\w+)\)s/g, (_, k) => values[k]));

  // The words put in front of a server's field message ("Line 2 quantity: ..."), in the user's language.
  function labels() {
    return {
      detail: "", non_field_errors: "", items: gettext("Line"), quantity: gettext("quantity"),
      discount: gettext("discount"), product: gettext("product"), payments: gettext("Payment"),
      amount: gettext("amount"), amount_tendered: gettext("cash given"), tendered: gettext("cash given"),
      phone: gettext("phone"), reason: gettext("reason"), shift: gettext("shift"), manager_pin: gettext("manager's PIN"),
      manager: gettext("manager"), pin: gettext("PIN"), refund: gettext("refund"), kind: gettext("cash in or out"),
      method: gettext("method"), customer_phone: gettext("customer's phone"), number: gettext("receipt number"),
    };
  }

  function humanMessage(fields, status) {
    const entries = Object.entries(fields);
    if (!entries.length) return interpolate(gettext("The server refused the request (HTTP %(status)s)."), { status });
    const LABELS = labels();
    const label = (name) => (name in LABELS ? LABELS[name] : name.replace(/_/g, " "));
    // a service message already names its line ("Line 2: ..." or in the user's language): do not say it twice
    const namesItsLine = new RegExp(`^(Line|${LABELS.items}) \\d+:`);
    return entries.map(([field, messages]) => {
      const parts = field.split(".");
      const rest = parts.slice(1).map((part) => (/^\d+$/.test(part) ? part : label(part)));
      const where = [label(parts[0]), ...rest].join(" ").trim();
      const text = messages.join(" ");
      return where && !namesItsLine.test(text) ? `${where}: ${text}` : text;
    }).join(" ");
  }

  async function send(request) {
    const headers = {
      Accept: "application/json", "X-Requested-With": "XMLHttpRequest", ...(request.headers || {}),
    };
    const unsafe = !["GET", "HEAD", "OPTIONS"].includes(request.method);
    if (unsafe) headers["X-CSRFToken"] = csrfToken();
    if (request.body !== undefined && request.body !== null) headers["Content-Type"] = "application/json";
    if (request.idempotencyKey) headers["Idempotency-Key"] = request.idempotencyKey;
    const controller = new AbortController();
    const timeoutMs = request.timeoutMs || DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response;
    try {
      response = await fetch(request.path, {
        method: request.method, headers, credentials: "same-origin", signal: controller.signal,
        body: request.body === undefined || request.body === null ? undefined : JSON.stringify(request.body),
      });
    } catch (err) {
      if (controller.signal.aborted) {
        throw new ApiError(interpolate(gettext("The server did not answer within %(seconds)s s: check the network, "
          + "then try again (nothing is charged twice)."), { seconds: Math.round(timeoutMs / 1000) }),
        { kind: "timeout" });
      }
      throw new ApiError(gettext("The till cannot reach the server: check the network, then try again (nothing is lost)."),
        { kind: "network" });
    } finally {
      clearTimeout(timer);
    }
    if (response.redirected && /\/login\//.test(response.url)) {
      throw new ApiError(gettext("Your session has ended: reload the page and log in again."), { kind: "auth", status: 401 });
    }
    let data = null;
    if (response.status !== 204) {
      const text = await response.text().catch(() => "");
      try {
        data = text ? JSON.parse(text) : null;
      } catch (err) {
        data = null;
      }
    }
    if (!response.ok) {
      const fields = data && typeof data === "object" ? flattenErrors(data) : {};
      const code = (data && typeof data.code === "string" && data.code) || "";
      const kind = response.status === 401 || (response.status === 403 && code === "not_authenticated") ? "auth" : "http";
      let message = humanMessage(fields, response.status);
      if (data && typeof data.error === "string") message = data.error;
      if (response.status >= 500) message = interpolate(gettext("The server failed (HTTP %(status)s); try again, nothing is charged twice."),
        { status: response.status });
      throw new ApiError(message, { kind, status: response.status, code, fields, data });
    }
    return data;
  }

  async function api(method, path, body, options = {}) {
    const request = {
      method: String(method || "GET").toUpperCase(), path, body,
      idempotencyKey: options.idempotencyKey || "", timeoutMs: options.timeoutMs || DEFAULT_TIMEOUT_MS,
      headers: options.headers || {},
    };
    const chain = middleware.reduceRight((next, mw) => (req) => mw(req, next), send);
    return chain(request);
  }

  function use(fn) {
    middleware.push(fn);
    return () => {
      const i = middleware.indexOf(fn);
      if (i >= 0) middleware.splice(i, 1);
    };
  }

  function newKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  window.posApi = { api, use, ApiError, flattenErrors, newKey, DEFAULT_TIMEOUT_MS };
})();
