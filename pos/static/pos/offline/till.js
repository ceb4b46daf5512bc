/* The offline till: the checkout keeps selling when the internet drops, and loses and duplicates nothing.
 *
 * - IndexedDB (idb, vendored) holds this till's id, its reserved blocks of offline receipt numbers, the
 *   catalogue (refreshed by cursor on updated_at, a page at a time, after the page is open) and the OUTBOX
 *   of sales made offline. A sale is written to the outbox, with its number taken from the block in the
 *   same transaction, BEFORE its receipt is shown or printed: a reload, a browser crash or a power cut
 *   after that keeps it; before that there was no receipt.
 * - The outbox sends the sales, in receipt-number order, to the same endpoint an online till uses
 *   (POST /api/sales/sales/ with `client_uuid`): the server accepts each client_uuid once and answers a
 *   retry with the first result, so a request whose answer was lost is simply sent again.
 * - It hooks into the page's one helper (pos/static/pos/api.js, posApi.use): every call carries X-Till
 *   (this till's own series of receipt numbers), a call that cannot reach the server turns the till
 *   offline, and a shift close or logout is refused while sales are unsynced (the server refuses too).
 * The cashier's panel (templates tills/offline_panel.html) is the Alpine component `offlineTill`.
 */
(function () {
  "use strict";

  const configElement = document.getElementById("till-config");
  if (!configElement || !window.idb || !window.indexedDB) return;
  const CONFIG = JSON.parse(configElement.textContent);
  const DB_NAME = "duka-till";
  const HEARTBEAT_MS = (CONFIG.heartbeat_seconds || 10) * 1000;
  const SYNC_TIMEOUT_MS = 8000;
  const CATALOGUE_PAGE = 2000;
  const realFetch = window.fetch.bind(window);
  // Django's JavaScript catalogue (/i18n/catalog.js, kept by the service worker for offline starts) speaks
  // the cashier's language; without it the till speaks English.
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => values[k]));

  // ---- numbers: integer cents and thousandths, rounding half-up like pos.core.money ------------------------
  function toUnits(text, places) {
    const match = /^\s*(\d*)(?:[.,](\d*))?\s*$/.exec(String(text == null ? "" : text));
    if (!match || (match[1] === "" && !match[2])) return null;
    const fraction = (match[2] || "").padEnd(places, "0").slice(0, places);
    return parseInt(match[1] || "0", 10) * 10 ** places + parseInt(fraction || "0", 10);
  }
  function fromUnits(units, places) {
    const digits = String(Math.abs(units)).padStart(places + 1, "0");
    return `${units < 0 ? "-" : ""}${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`;
  }
  const cents = (text) => toUnits(text, 2);
  const money = (units) => fromUnits(units, 2);

  /* ---- pricing: the server's rule (pos.sales.services.price_cart), exactly ------------------------------
   * Exact decimal arithmetic on BigInt (a decimal is digits over a power of ten), so every figure is the
   * one the server computes: gross = quantity x price half-up to the cent, at the line; a line discount in
   * money (half-up) or percent (rounded DOWN to the cent); the order discount in money or percent of what
   * the lines leave (rounded down), spread over the lines by largest remainder (pos.core.money.allocate);
   * VAT contained in each line, half-up; ONE cashier cap on the sale (lines and order together at most
   * cap_percent of the gross); the cash rounding line to the step (nearest: half up; down), never rounding
   * a sale that costs something to nothing. The rules (cap, step, rule) come from the server with the
   * catalogue (pos.tills.services.pricing_rules). Errors carry the server's code. */
  class PriceError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }
  const MAX_CENTS = 99999999999999n; // pos.core.money.MAX_MONEY

  function decimal(text) { // "12.345" -> {n: 12345n, scale: 3}; null when it is not a plain decimal
    const match = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(String(text == null ? "" : text));
    if (!match || (match[1] === "" && !match[2])) return null;
    const fraction = match[2] || "";
    return { n: BigInt((match[1] || "0") + fraction), scale: fraction.length };
  }
  const pow10 = (k) => 10n ** BigInt(k);
  const halfUp = (a, b) => (2n * a + b) / (2n * b); // a >= 0, b > 0
  function scaled(dec, places) { // the decimal rounded half-up to `places` decimals, as an integer
    return dec.scale <= places ? dec.n * pow10(places - dec.scale) : halfUp(dec.n, pow10(dec.scale - places));
  }
  function percentOf(amount, text) { // pos.sales.services.percent_of: rounded down to the cent
    const pct = decimal(text);
    if (pct === null || pct.n > 100n * pow10(pct.scale)) {
      throw new PriceError(gettext("A discount is between 0 and 100%."), "bad_discount");
    }
    return (amount * pct.n) / (100n * pow10(pct.scale));
  }
  function given(value) {
    return value !== undefined && value !== null && value !== "";
  }

  function allocateCents(total, weights) { // pos.core.money.allocate: largest remainder, ties earlier first
    const sum = weights.reduce((a, b) => a + b, 0n);
    if (!weights.length || sum === 0n || total === 0n) return weights.map(() => 0n);
    const parts = weights.map((w) => (total * w) / sum);
    let left = total - parts.reduce((a, b) => a + b, 0n);
    const order = weights.map((w, i) => ({ i, r: (total * w) % sum }))
      .sort((a, b) => (a.r === b.r ? a.i - b.i : (b.r > a.r ? 1 : -1)));
    for (const { i } of order) {
      if (left <= 0n) break;
      parts[i] += 1n;
      left -= 1n;
    }
    return parts;
  }

  function roundCash(amount, pricing) { // pos.sales.services.round_cash, in cents
    const step = decimal(pricing.rounding_step);
    if (step === null || step.n % pow10(step.scale) !== 0n || step.n < pow10(step.scale)) {
      throw new PriceError("CASH_ROUNDING_STEP is a whole number of shillings, at least 1.", "bad_config");
    }
    const stepCents = scaled(step, 2);
    let units;
    if (pricing.rounding_rule === "nearest") units = halfUp(amount, stepCents);
    else if (pricing.rounding_rule === "down") units = amount / stepCents;
    else throw new PriceError("CASH_ROUNDING_RULE is 'nearest' or 'down'.", "bad_config");
    const rounded = units * stepCents;
    return rounded <= 0n && amount > 0n ? stepCents : rounded;
  }

  /* lines: [{name, price, tax_rate, unit, quantity, discount_percent | discount}]; order: {percent} or
   * {amount}; pricing: {cap_percent (null: no cap), rounding_step, rounding_rule, piece_unit}. Amounts in cents. */
  function priceCart(lines, order, pricing) {
    if (!pricing) { // a page cached before the server sent its rules: never guess them
      throw new PriceError(gettext("Connect this till to the internet once to load the shop's pricing rules."), "no_pricing");
    }
    if (!lines.length) throw new PriceError(gettext("Scan a product first."), "empty");
    const priced = lines.map((line, n) => {
      const say = (text) => interpolate(text, { n: n + 1, name: line.name }, true);
      const qtyText = String(line.quantity == null ? "" : line.quantity).trim();
      const quantity = decimal(qtyText);
      if (quantity === null) {
        throw new PriceError(qtyText.includes(",") ? say(gettext("Line %(n)s: use a point for decimals (1.5), not a comma."))
          : say(gettext("Line %(n)s: the quantity is not a number.")), "bad_quantity");
      }
      const qty = scaled(quantity, 3);
      const price = scaled(decimal(line.price), 2);
      const gross = halfUp(qty * price, 1000n);
      let discount;
      if (given(line.discount_percent)) discount = percentOf(gross, line.discount_percent);
      else {
        const amount = decimal(given(line.discount) ? line.discount : "0");
        discount = amount === null ? -1n : scaled(amount, 2);
      }
      if (qty <= 0n) throw new PriceError(say(gettext("Line %(n)s: quantity must be greater than zero.")), "bad_quantity");
      if (line.unit === pricing.piece_unit && qty % 1000n !== 0n) {
        throw new PriceError(say(gettext("Line %(n)s: %(name)s is sold in whole pieces.")), "bad_quantity");
      }
      if (discount < 0n || discount > gross) {
        throw new PriceError(say(gettext("Line %(n)s: the discount must be between 0 and the line amount.")), "bad_discount");
      }
      return { line, qty, price, gross, discount, rate: decimal(line.tax_rate || "0") };
    });
    const left = priced.map((l) => l.gross - l.discount);
    const leftSum = left.reduce((a, b) => a + b, 0n);
    order = order || {};
    let orderDiscount;
    if (given(order.percent)) orderDiscount = percentOf(leftSum, order.percent);
    else {
      const amount = decimal(given(order.amount) ? order.amount : "0");
      if (amount === null) throw new PriceError(gettext("The discount cannot be negative."), "invalid");
      orderDiscount = scaled(amount, 2);
    }
    if (orderDiscount > leftSum) throw new PriceError(gettext("The discount is larger than the sale total."), "discount_too_large");
    const shares = allocateCents(orderDiscount, left);
    priced.forEach((l, i) => {
      l.orderShare = shares[i];
      l.total = l.gross - l.discount - shares[i];
      const rate = l.rate.n; // tax_included: total x rate / (100 + rate), half-up
      l.tax = rate === 0n ? 0n : halfUp(l.total * rate, 100n * pow10(l.rate.scale) + rate);
    });
    const sum = (field) => priced.reduce((a, l) => a + l[field], 0n);
    const subtotal = sum("gross");
    const discountTotal = sum("discount") + sum("orderShare");
    if (given(pricing.cap_percent)) { // check_discount_cap: one cap on the sale
      const cap = decimal(pricing.cap_percent);
      const limit = halfUp(subtotal * cap.n, 100n * pow10(cap.scale));
      if (discountTotal > limit) {
        throw new PriceError(interpolate(gettext("A cashier may give at most %(cap)s discount on a sale (lines and order together: %(given)s of %(gross)s); a manager can authorise more when the till is online."),
          { cap: `${pricing.cap_percent}%`, given: money(Number(discountTotal)), gross: money(Number(subtotal)) }, true),
        "discount_not_allowed");
      }
    }
    priced.forEach((l) => {
      if (l.gross > MAX_CENTS) throw new PriceError(gettext("A line amount is larger than the shop can record."), "too_large");
    });
    if (subtotal > MAX_CENTS) throw new PriceError(gettext("The sale total is larger than the shop can record."), "too_large");
    const linesTotal = sum("total");
    const rounding = roundCash(linesTotal, pricing) - linesTotal;
    const num = Number;
    return {
      lines: priced.map((l) => ({
        ...l.line, qty: num(l.qty), priceUnits: num(l.price), gross: num(l.gross), discount: num(l.discount),
        orderShare: num(l.orderShare), total: num(l.total), tax: num(l.tax),
      })),
      subtotal: num(subtotal), discount: num(discountTotal), orderDiscount: num(orderDiscount), tax: num(sum("tax")),
      linesTotal: num(linesTotal), rounding: num(rounding), total: num(linesTotal + rounding),
    };
  }

  // ---- storage --------------------------------------------------------------------------------------------
  const dbPromise = window.idb.openDB(DB_NAME, 2, {
    upgrade(db, oldVersion, newVersion, tx) {
      if (oldVersion < 1) {
        db.createObjectStore("meta");
        const products = db.createObjectStore("products", { keyPath: "id" });
        products.createIndex("barcode", "barcode");
        products.createIndex("sku", "sku");
        products.createIndex("words", "words", { multiEntry: true });
        const outbox = db.createObjectStore("outbox", { keyPath: "client_uuid" });
        outbox.createIndex("number", "number", { unique: true });
        outbox.createIndex("state", "state");
      }
      if (oldVersion < 2) tx.objectStore("products").createIndex("plu", "plu");
    },
  });
  const meta = {
    async get(key) { return (await dbPromise).get("meta", key); },
    async set(key, value) { return (await dbPromise).put("meta", value, key); },
  };

  function uuid4() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    const b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function words(product) {
    const text = `${product.name} ${product.sku || ""}`.toLowerCase();
    return Array.from(new Set(text.split(/[^a-z0-9]+/).filter(Boolean)));
  }

  // ---- talking to the server --------------------------------------------------------------------------------
  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.split("=")[1]);
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  class ApiError extends Error {
    constructor(message, { status = 0, data = {}, network = false } = {}) {
      super(message);
      this.status = status;
      this.data = data;
      this.network = network;
    }
  }

  function firstMessage(data) {
    for (const [key, value] of Object.entries(data || {})) {
      if (key === "code") continue;
      if (Array.isArray(value) && value.length) return typeof value[0] === "string" ? value[0] : JSON.stringify(value[0]);
      if (typeof value === "string") return value;
    }
    return "";
  }

  async function api(method, path, body, { timeoutMs = SYNC_TIMEOUT_MS } = {}) {
    if (window.posApi) { // the page's one helper: the same headers, errors and session handling as the till
      try {
        return await window.posApi.api(method, path, body, { timeoutMs });
      } catch (err) {
        if (err.kind === "auth") err.status = err.status || 401;
        throw err;
      }
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.deviceId) headers["X-Till"] = state.deviceId;
    let response;
    try {
      response = await realFetch(path, {
        method, headers, credentials: "same-origin", signal: controller.signal, redirect: "manual",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(gettext("The server cannot be reached."), { network: true });
    } finally {
      clearTimeout(timer);
    }
    if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
      throw new ApiError(gettext("Log in again to sync this till's sales."), { status: response.status || 401 });
    }
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      if (response.ok) throw new ApiError(gettext("The answer was cut off."), { network: true });
    }
    const http = { status: response.status };
    if (response.status >= 500) throw new ApiError(interpolate(gettext("The server failed (HTTP %(status)s)."), http, true), { status: response.status, network: true });
    if (!response.ok) throw new ApiError(firstMessage(data) || interpolate(gettext("Refused (HTTP %(status)s)."), http, true), { status: response.status, data });
    return data;
  }

  // ---- the till's state, shared with the panel ---------------------------------------------------------------
  const listeners = new Set();
  const state = {
    ready: false, deviceId: null, till: null, online: navigator.onLine, unsynced: 0, rejected: 0, syncing: false,
    lastSync: null, lastError: "", numbersLeft: 0, catalogueCount: 0, catalogueDone: false, shift: null,
    cached: false, quickKeys: [], pricing: CONFIG.pricing,
  };
  function changed() {
    listeners.forEach((fn) => fn(state));
  }

  async function countOutbox() {
    const db = await dbPromise;
    const pending = await db.countFromIndex("outbox", "state", "pending");
    const rejected = await db.countFromIndex("outbox", "state", "rejected");
    state.unsynced = pending + rejected;
    state.rejected = rejected;
    changed();
    return state.unsynced;
  }

  async function numbersLeft() {
    const blocks = (await meta.get("blocks")) || [];
    const next = (await meta.get("next_number")) || 0;
    let left = 0;
    for (const b of blocks) left += Math.max(0, b.end - Math.max(b.start, next) + 1);
    state.numbersLeft = left;
    return left;
  }

  function setOnline(value) {
    if (state.online !== value) {
      state.online = value;
      changed();
      if (value) sync();
    }
  }

  // ---- start: register, reserve numbers, refresh the catalogue, sync -------------------------------------------
  async function start() {
    let deviceId = await meta.get("device_id");
    if (!deviceId) {
      deviceId = uuid4();
      await meta.set("device_id", deviceId);
    }
    state.deviceId = deviceId;
    state.till = (await meta.get("till")) || null;
    state.shift = (await meta.get("shift")) || null;
    state.quickKeys = (await meta.get("quick_keys")) || [];
    state.pricing = (await meta.get(`pricing:${CONFIG.user}`)) || CONFIG.pricing; // as the server last said
    state.lastSync = (await meta.get("last_sync")) || null;
    state.catalogueCount = (await meta.get("catalogue_count")) || 0; // counting 100k rows would slow the start
    await numbersLeft();
    await countOutbox();
    state.ready = true;
    changed();
    registerServiceWorker();
    window.addEventListener("online", () => heartbeat());
    window.addEventListener("offline", () => setOnline(false));
    setInterval(heartbeat, HEARTBEAT_MS);
    await heartbeat();
  }

  let beating = false;
  let quickKeysLoaded = false;
  async function heartbeat() {
    if (beating) return;
    beating = true;
    try {
      if (!navigator.onLine) {
        setOnline(false);
        return;
      }
      if (!state.till || String(state.till.device_id) !== state.deviceId) {
        state.till = await api("POST", CONFIG.urls.register, { device_id: state.deviceId, name: "" });
        await meta.set("till", state.till);
      }
      await reportStatus();
      setOnline(true);
      await ensureNumbers();
      await refreshShift();
      if (!quickKeysLoaded) {
        quickKeysLoaded = true;
        refreshQuickKeys();
      }
      refreshCatalogue();
      sync();
    } catch (err) {
      if (err.network) setOnline(false);
      else state.lastError = err.message;
      changed();
    } finally {
      beating = false;
    }
  }

  async function reportStatus() {
    if (!state.till) return;
    await api("POST", CONFIG.urls.status.replace("{device}", state.deviceId), { unsynced: await countOutbox() });
  }

  async function ensureNumbers() {
    if ((await numbersLeft()) >= CONFIG.block_low) return;
    const block = await api("POST", CONFIG.urls.blocks.replace("{device}", state.deviceId), {});
    const db = await dbPromise;
    const tx = db.transaction("meta", "readwrite");
    const blocks = (await tx.store.get("blocks")) || [];
    if (!blocks.some((b) => b.start === block.start)) blocks.push({ start: block.start, end: block.end, prefix: block.prefix });
    blocks.sort((a, b) => a.start - b.start);
    await tx.store.put(blocks, "blocks");
    if (!(await tx.store.get("next_number"))) await tx.store.put(block.start, "next_number");
    await tx.done;
    await numbersLeft();
    changed();
  }

  async function refreshShift() {
    try {
      const shift = await api("GET", CONFIG.urls.shift_current);
      state.shift = { id: shift.id, opened_at: shift.opened_at };
    } catch (err) {
      if (err.network) throw err;
      if (err.status === 404) state.shift = null;
    }
    await meta.set("shift", state.shift);
    changed();
  }

  let cataloguing = null;
  function refreshCatalogue() {
    if (!cataloguing) cataloguing = pullCatalogue().finally(() => { cataloguing = null; });
    return cataloguing;
  }

  async function pullCatalogue() {
    const db = await dbPromise;
    let changedRows = 0;
    for (let page = 0; page < 1000; page += 1) {
      const cursor = (await meta.get("catalogue_cursor")) || "";
      const url = `${CONFIG.urls.catalogue}?limit=${CATALOGUE_PAGE}&cursor=${encodeURIComponent(cursor)}`;
      const data = await api("GET", url, undefined, { timeoutMs: 30000 });
      const tx = db.transaction(["products", "meta"], "readwrite");
      const products = tx.objectStore("products");
      for (const row of data.results) {
        if (!row.is_active) products.delete(row.id);
        else products.put({ ...row, barcode: row.barcode || "", plu: row.plu || "", words: words(row) });
      }
      tx.objectStore("meta").put(data.cursor, "catalogue_cursor");
      tx.objectStore("meta").put(data.pricing, `pricing:${CONFIG.user}`);
      await tx.done;
      state.pricing = data.pricing;
      changedRows += data.results.length;
      if (data.done) break;
    }
    if (changedRows || !(await meta.get("catalogue_count"))) {
      state.catalogueCount = await db.count("products");
      await meta.set("catalogue_count", state.catalogueCount);
    }
    state.catalogueDone = true;
    changed();
  }

  // ---- the cached catalogue -----------------------------------------------------------------------------------
  async function lookup(code) {
    const db = await dbPromise;
    return (await db.getFromIndex("products", "barcode", code)) || (await db.getFromIndex("products", "plu", code))
      || (await db.getFromIndex("products", "sku", code)) || null;
  }

  async function product(id) {
    return (await dbPromise).get("products", id);
  }

  // The quick keys the managers chose (GET /api/products/quick-keys/), kept for the offline panel.
  async function refreshQuickKeys() {
    try {
      const keys = await api("GET", CONFIG.urls.quick_keys);
      state.quickKeys = (Array.isArray(keys) ? keys : (keys && keys.results) || []).map((k) => ({
        id: k.id, label: k.label, colour: k.colour, product: k.product,
      }));
      await meta.set("quick_keys", state.quickKeys);
      changed();
    } catch (err) {
      if (err.network) throw err; // no quick keys: the till still scans and searches
    }
  }

  async function search(text, limit = 20) {
    const parts = String(text).toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
    if (!parts.length) return [];
    const db = await dbPromise;
    const [first, ...rest] = parts.sort((a, b) => b.length - a.length);
    const found = [];
    let cursor = await db.transaction("products").store.index("words")
      .openCursor(IDBKeyRange.bound(first, `${first}\uffff`));
    const seen = new Set();
    while (cursor && found.length < limit) {
      const p = cursor.value;
      if (!seen.has(p.id) && rest.every((w) => p.words.some((pw) => pw.startsWith(w)))) {
        seen.add(p.id);
        found.push(p);
      }
      cursor = await cursor.continue();
    }
    return found.sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- recording a sale: number and outbox row in ONE transaction, before the receipt ---------------------------
  async function recordSale({ lines, orderPercent, payments, customerPhone = "" }) {
    const priced = priceCart(lines, { percent: orderPercent }, state.pricing);
    const paid = payments.reduce((a, p) => a + cents(p.amount), 0);
    if (paid < priced.total) {
      throw new Error(interpolate(gettext("Payments cover %(paid)s of %(total)s."), { paid: money(paid), total: money(priced.total) }, true));
    }
    const db = await dbPromise;
    const tx = db.transaction(["meta", "outbox"], "readwrite");
    const store = tx.objectStore("meta");
    const blocks = (await store.get("blocks")) || [];
    let number = (await store.get("next_number")) || 0;
    const block = blocks.find((b) => number >= b.start && number <= b.end)
      || blocks.find((b) => b.start > number);
    if (!block) {
      tx.abort();
      throw new Error(gettext("This till has no offline receipt numbers left: connect it to the internet once to get more."));
    }
    number = Math.max(number, block.start);
    const sale = {
      client_uuid: uuid4(), number, receipt: `${block.prefix}${String(number).padStart(6, "0")}`,
      state: "pending", attempts: 0, error: "", cashier: CONFIG.user, till: state.deviceId,
      sold_at: new Date().toISOString(), shift: state.shift ? state.shift.id : null,
      customer_phone: customerPhone,
      items: priced.lines.map((l) => ({
        product: l.product, name: l.name, quantity: fromUnits(l.qty, 3), unit_price: money(l.priceUnits),
        tax_rate: l.tax_rate, discount: money(l.discount), total: money(l.total),
      })),
      discount: money(priced.orderDiscount), subtotal: money(priced.subtotal), tax: money(priced.tax),
      rounding: money(priced.rounding), total: money(priced.total), discount_total: money(priced.discount),
      payments: payments.map((p) => ({
        method: p.method, amount: money(cents(p.amount)),
        amount_tendered: p.amount_tendered ? money(cents(p.amount_tendered)) : null, code: p.code || "",
      })),
      change: money(payments.reduce((a, p) => a + (p.amount_tendered ? cents(p.amount_tendered) - cents(p.amount) : 0), 0)),
    };
    tx.objectStore("outbox").add(sale);
    store.put(number + 1, "next_number");
    await tx.done; // durable before the receipt is shown or printed
    await numbersLeft();
    await countOutbox();
    return sale;
  }

  // ---- the outbox: in number order, the same endpoint as an online till -----------------------------------------
  let syncing = null;
  let retryTimer = null;
  let retryDelay = 500;
  function sync() {
    if (!syncing) {
      syncing = drain().then((finished) => {
        clearTimeout(retryTimer);
        if (finished) retryDelay = 500;
        else {
          // the answer was lost or the server is away: try again soon, backing off up to the heartbeat
          retryTimer = setTimeout(() => heartbeat(), retryDelay);
          retryDelay = Math.min(retryDelay * 2, HEARTBEAT_MS);
        }
      }).finally(() => { syncing = null; });
    }
    return syncing;
  }

  function wireBody(sale) {
    return {
      client_uuid: sale.client_uuid, till: sale.till, number: sale.number, sold_at: sale.sold_at,
      shift: sale.shift, discount: sale.discount, total: sale.total, customer_phone: sale.customer_phone,
      items: sale.items.map((i) => ({
        product: i.product, quantity: i.quantity, unit_price: i.unit_price, tax_rate: i.tax_rate, discount: i.discount,
      })),
      payments: sale.payments,
    };
  }

  async function drain() {
    const db = await dbPromise;
    state.syncing = true;
    changed();
    try {
      await handOver(db);
      const pending = (await db.getAllFromIndex("outbox", "state", "pending")).sort((a, b) => a.number - b.number);
      if (!pending.length) return true;
      await reportStatus(); // the server knows sales are on their way before the first one arrives
      for (const sale of pending) {
        if (sale.cashier !== CONFIG.user) continue; // another cashier's sale waits for them to log in here
        try {
          const answer = await api("POST", CONFIG.urls.sales, wireBody(sale));
          if (!answer || !answer.id) throw new ApiError(gettext("The answer was cut off."), { network: true });
          sale.state = "synced";
          sale.server_id = answer.id;
          sale.flags = answer.offline || {};
          sale.synced_at = new Date().toISOString();
        } catch (err) {
          sale.attempts += 1;
          sale.error = err.message;
          if (err.network || err.status === 401 || err.status === 403 || err.status === 429) {
            await db.put("outbox", sale);
            state.lastError = err.message;
            if (err.network) setOnline(false);
            return false;
          }
          sale.state = "rejected"; // kept and counted as unsynced until it is handed to a manager
          sale.refusal = err.data || { detail: [err.message] };
        }
        await db.put("outbox", sale);
        state.lastSync = new Date().toISOString();
        await meta.set("last_sync", state.lastSync);
        await countOutbox();
      }
      await handOver(db);
      state.lastError = "";
      await reportStatus();
      return true;
    } catch (err) {
      if (err.network) setOnline(false);
      state.lastError = err.message;
      return false;
    } finally {
      state.syncing = false;
      await countOutbox();
    }
  }

  // A sale the server refused is handed over to be kept for a manager (never dropped); once the server
  // holds it, it no longer blocks the cashier's logout or shift close.
  async function handOver(db) {
    const refused = await db.getAllFromIndex("outbox", "state", "rejected");
    for (const sale of refused) {
      if (sale.cashier !== CONFIG.user) continue;
      await api("POST", CONFIG.urls.refused.replace("{device}", state.deviceId), { body: wireBody(sale), error: sale.refusal || {} });
      sale.state = "handed";
      await db.put("outbox", sale);
      await countOutbox();
    }
  }

  async function outboxList(limit = 50) {
    const db = await dbPromise;
    const all = await db.getAllFromIndex("outbox", "number");
    return all.slice(-limit).reverse();
  }

  // ---- service worker and cache warm-up ---------------------------------------------------------------------------
  async function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !navigator.onLine) return;
    try {
      await navigator.serviceWorker.register(CONFIG.urls.sw, { scope: CONFIG.urls.page });
      const assets = Array.from(document.querySelectorAll("script[src], link[rel=stylesheet][href], link[rel=manifest]"))
        .map((el) => el.src || el.href).filter((url) => url && new URL(url).origin === window.location.origin);
      const stat = await caches.open("duka-till-static");
      await Promise.all(assets.map((url) => stat.add(url).catch(() => null)));
      const pages = await caches.open("duka-till-pages");
      await pages.add(CONFIG.urls.page).catch(() => null);
      state.cached = true;
      changed();
    } catch (err) {
      // no service worker (private window, old browser): the till still sells offline while the page stays open
    }
  }

  // ---- guards: every request names the till; no shift close or logout with unsynced sales ---------------------
  function refusal() {
    return interpolate(gettext("%(n)s sale(s) made offline are not synced yet: let the till sync before you close the "
      + "shift or log out."), { n: state.unsynced }, true);
  }
  // The page's one helper (pos/static/pos/api.js): every call names this till (its own receipt series),
  // a shift close is refused while sales are unsynced, and a call that cannot reach the server turns the
  // till offline so the cashier keeps selling from the panel.
  if (window.posApi) {
    window.posApi.use(async (request, next) => {
      if (state.deviceId) request.headers = { ...(request.headers || {}), "X-Till": state.deviceId };
      const path = new URL(request.path, window.location.href).pathname;
      if (request.method === "POST" && /shifts?\/(\d+\/)?close\/?$/.test(path) && state.unsynced > 0) {
        throw new window.posApi.ApiError(refusal(), {
          status: 400, code: "unsynced_sales", fields: { shift: [refusal()] }, data: { shift: [refusal()], code: "unsynced_sales" },
        });
      }
      try {
        return await next(request);
      } catch (err) {
        if (err.kind === "network") setOnline(false);
        throw err;
      }
    });
  }
  document.addEventListener("submit", (event) => {
    const action = event.target && event.target.getAttribute("action");
    if (action && /\/logout\/?$/.test(action) && state.unsynced > 0) {
      event.preventDefault();
      event.stopImmediatePropagation();
      window.alert(refusal());
    }
  }, true);
  document.addEventListener("click", (event) => {
    const link = event.target && event.target.closest && event.target.closest("a[href]");
    if (link && /\/logout\/?$/.test(link.getAttribute("href")) && state.unsynced > 0) {
      event.preventDefault();
      event.stopImmediatePropagation();
      window.alert(refusal());
    }
  }, true);

  window.dukaTill = {
    config: CONFIG, state, subscribe: (fn) => { listeners.add(fn); fn(state); return () => listeners.delete(fn); },
    lookup, product, search, priceCart, PriceError, recordSale, sync, heartbeat, outboxList, refreshCatalogue, countOutbox,
    money, cents, fromUnits, toUnits, api,
  };
  start();
})();
