/* The cashier's checkout page: an Alpine.js component (Alpine ships with django-unfold).
 *
 * It speaks the REST API every other client uses (/api/products/, /api/sales/, /api/payments/), through
 * pos/static/pos/api.js. The cart lives here (and in localStorage, so a reload keeps it); every amount
 * shown comes from the server: POST /api/sales/sales/price/ prices the cart with the service that writes
 * the sale (discounts, the cashier's cap, the cash rounding line). The first tender confirms the sale
 * AND takes the payment in one request (POST /api/sales/sales/ with `payments`); later tenders go to
 * /api/sales/sales/<id>/pay/. Open and partly paid sales live on the server: any browser lists and
 * resumes them. The sale sends one Idempotency-Key per cart and every payment one per tender attempt, so a double click,
 * a retry or a reload never makes a second sale or payment.
 */
(function () {
  "use strict";

  const EMPTY_CART = { lines: [], subtotal: "0.00", discount: "0.00", tax: "0.00", rounding: "0.00", total: "0.00" };
  // One rule with the server (pos.sales.services.parse_quantity): digits and a decimal POINT. "1,5" is
  // refused: a comma is a decimal mark to some and a thousands separator to others (1.5 kg or 15 kg?).
  const QUANTITY = /^\d+(\.\d+)?$/;
  const POLL_MS = 2000;
  const PROVIDER_WAIT_MS = 120000; // M-Pesa refuses a new push to the same phone for about 2 minutes
  // Django's JavaScript catalog (/i18n/catalog.js) translates the cashier's messages (English, Kiswahili);
  // without it (an offline first load) the page speaks English.
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => values[k]));
  const METHOD_NAMES = { cash: gettext("Cash"), mpesa: "M-Pesa", airtel: "Airtel Money", card: gettext("Card") };
  // Scans are looked up in parallel but applied in the order they were scanned, so a fast scanner's
  // lines appear in scan order. Kept outside Alpine's reactive data: its proxy breaks Promise methods.
  let scans = Promise.resolve();
  // The latest pricing request of the cart (outside Alpine's proxy, like `scans`).
  let pricing = Promise.resolve();
  // The latest request to put the cursor back in the scanner (focusScanner); a newer one, or the cashier
  // moving the cursor (keepFocus), drops the older.
  let focusRequest = 0;

  // Resolves once every scan typed so far is in the cart and the cart is priced: a tender key pressed
  // while a lookup is still on its way (a fast cashier, a slow server) pays the whole cart, never "no cart".
  async function settled() {
    let seen;
    do {
      seen = [scans, pricing];
      await Promise.allSettled(seen);
    } while (seen[0] !== scans || seen[1] !== pricing);
  }

  const newKey = () => window.posApi.newKey();

  // Decimal strings <-> integers of a fixed scale (cents, thousandths): no floating point on money.
  function toUnits(text, places) {
    const match = /^\s*(-?)(\d*)(?:[.,](\d*))?\s*$/.exec(String(text == null ? "" : text));
    if (!match || (match[2] === "" && !match[3])) return null;
    const fraction = (match[3] || "").padEnd(places, "0").slice(0, places);
    const units = parseInt(match[2] || "0", 10) * 10 ** places + parseInt(fraction || "0", 10);
    return match[1] ? -units : units;
  }

  function fromUnits(units, places) {
    const digits = String(Math.abs(units)).padStart(places + 1, "0");
    const whole = digits.slice(0, digits.length - places);
    return `${units < 0 ? "-" : ""}${whole}.${digits.slice(digits.length - places)}`;
  }

  function plainQuantity(units) {
    return fromUnits(units, 3).replace(/\.?0+$/, "") || "0";
  }

  function groupThousands(text) {
    const [whole, fraction] = String(text).split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return fraction === undefined ? grouped : `${grouped}.${fraction}`;
  }

  // Every server call goes through pos/static/pos/api.js (one error shape, a timeout on every request).
  function call(url, { method = "GET", body, key, timeoutMs } = {}) {
    return window.posApi.api(method, url, body, { idempotencyKey: key, timeoutMs });
  }

  function url(template, values = {}) {
    return Object.entries(values).reduce((text, [name, value]) => text.replace(`{${name}}`, encodeURIComponent(value)), template);
  }

  function checkout() {
    const config = JSON.parse(document.getElementById("checkout-config").textContent);
    const saved = (name, value) => window.Alpine.$persist(value).as(`${config.storage_key}-${name}`);
    const urls = config.urls;
    return {
      config,
      shift: config.shift,
      openingFloat: "",
      // the cart, kept across reloads
      lines: saved("lines", []),
      orderPercent: saved("discount", "0"),
      customerPhone: saved("phone", ""),
      cartKey: saved("key", newKey()),
      saleId: saved("sale", null),
      // what the server said
      cart: EMPTY_CART,
      lastGood: { lines: [], orderPercent: "0" },
      sale: null,
      // the screen
      selected: -1,
      scanText: "",
      scanning: 0,
      message: null,
      busy: false,
      dialog: null,
      now: Date.now(),
      priceSeq: 0,
      pollTimer: null,
      search: { text: "", results: [], active: 0, done: false },
      cash: { given: "", amount: "", key: "" },
      pay: { method: "", phone: "", amount: "", key: "", paymentId: null, sentAt: 0, retryAt: 0 },
      closing: { report: null, counted: "", z: null },
      // a manager's PIN typed at this till (kept for this sale only, never stored)
      manager: null,
      pin: { username: "", pin: "", reason: "", resolve: null, back: null },
      conflict: null,
      openSales: { list: [], active: 0, loaded: false },
      ret: { receipt: "", sale: null, quantities: {}, refund: "cash", reason: "", result: null },
      owed: { list: [], loaded: false },
      approvals: { list: [], loaded: false },
      drawer: { kind: "in", amount: "", reason: "" },

      init() {
        window.addEventListener("focus", () => this.focusScanner());
        // the quick keys grid (pos/static/pos/quickkeys.js) adds its products through the same cart
        window.addEventListener("pos:add-product", (event) => {
          this.addProduct(event.detail.product, event.detail.quantity);
          this.focusScanner();
        });
        // the offline till (pos/static/pos/offline/till-panel.js) carries a cart not confirmed yet into its
        // offline sale when the network drops, and empties it here once that sale is recorded
        window.addEventListener("pos:offline-take-cart", (event) => {
          if (this.editable && this.lines.length) event.detail.cart = { ...this.snapshot(), clear: () => this.newSale() };
        });
        setInterval(() => { this.now = Date.now(); }, 1000);
        this.lastGood = this.snapshot();
        if (this.lines.length) this.reprice();
        if (this.saleId) this.resumeSale(this.saleId);
        this.focusScanner();
      },

      // ---- state ------------------------------------------------------------------------------------------
      get stage() {
        if (!this.shift) return "no-shift";
        if (!this.sale) return "cart";
        if (this.sale.status === "paid") return "done";
        return "tender";
      },
      get editable() {
        return this.stage === "cart";
      },
      get due() {
        return this.sale ? this.sale.balance_due : this.cart.total;
      },
      get changePreview() {
        const given = toUnits(this.cash.given, 2);
        const part = toUnits(this.cash.amount, 2);
        if (given === null || part === null || given < part) return "—";
        return this.money(fromUnits(given - part, 2));
      },
      get payment() {
        if (!this.sale || !this.pay.paymentId) return null;
        return this.sale.payments.find((p) => p.id === this.pay.paymentId) || null;
      },
      get waiting() {
        return Boolean(this.payment && this.payment.in_flight);
      },
      get waitedSeconds() {
        return this.pay.sentAt ? Math.max(0, Math.round((this.now - this.pay.sentAt) / 1000)) : 0;
      },
      get retryIn() {
        return Math.max(0, Math.ceil((this.pay.retryAt - this.now) / 1000));
      },
      get cashTenders() {
        return this.sale ? this.sale.payments.filter((p) => p.method === "cash" && p.status === "completed").length : 0;
      },
      get changeLabel() {
        return this.cashTenders > 1 ? "Change of the last cash tender" : "Change due";
      },
      methodName(method) {
        return METHOD_NAMES[method] || method;
      },
      money(value) {
        if (value === null || value === undefined || value === "") return "—";
        return `${this.config.currency} ${groupThousands(value)}`;
      },
      priced(i, field) {
        const line = this.cart.lines[i];
        return line && this.lines[i] && line.product === this.lines[i].product ? this.money(line[field]) : "…";
      },
      fail(text) {
        this.message = { kind: "error", text };
      },
      info(text) {
        this.message = { kind: "info", text };
      },
      snapshot() {
        return JSON.parse(JSON.stringify({ lines: this.lines, orderPercent: this.orderPercent }));
      },

      // ---- focus: the scanner input keeps the focus unless the cashier works in another field ------------
      focusScanner(tries = 20) {
        // A field that is not shown yet (a slow first paint) cannot take focus: try again shortly, until
        // it has it. Once it has focus nothing retries, so a field the cashier picks is never taken away.
        // A request still waiting when the cashier moves the cursor (F3, F6, Tab, a line's field) is dropped:
        // the browser handles a key before a timer already queued, so Enter then F3 at once would otherwise
        // see F3 put the cursor in the quantity and this timer take it back, and the quantity typed next
        // would land in the scanner.
        const request = ++focusRequest;
        setTimeout(() => {
          if (request !== focusRequest || this.dialog) return;
          const target = this.shift ? this.$refs.scan : this.$refs.float;
          if (!target || target.disabled) return;
          target.focus();
          if (document.activeElement !== target && tries > 0) {
            setTimeout(() => { if (request === focusRequest) this.focusScanner(tries - 1); }, 50);
          }
        }, 0);
      },
      keepFocus() {
        focusRequest += 1; // drops any focusScanner() still waiting
      },
      focusIsFree() {
        // nothing open and the cursor in no field the cashier chose (a line's quantity or discount after F3)
        const active = document.activeElement;
        return !this.dialog && (!active || active === document.body || active === this.$refs.scan);
      },
      onScanBlur(event) {
        if (!event.relatedTarget) setTimeout(() => this.focusScanner(), 0);
      },
      onFocusOut() {
        setTimeout(() => {
          const active = document.activeElement;
          if (!this.dialog && (!active || active === document.body)) this.focusScanner();
        }, 30);
      },

      // ---- keyboard ---------------------------------------------------------------------------------------
      onKey(event) {
        if (event.key === "Escape") {
          event.preventDefault();
          if (this.dialog) this.closeDialog();
          else {
            this.message = null;
            this.focusScanner();
          }
          return;
        }
        if (event.key === "Tab" || event.key === "F3" || event.key === "F6") this.keepFocus();
        if (this.dialog || !this.shift) return;
        if (event.altKey && (event.key === "d" || event.key === "D")) {
          event.preventDefault();
          if (!this.busy) this.openDrawer();
          return;
        }
        const actions = {
          F2: () => this.openSearch(""),
          F3: () => this.editQuantity(),
          F4: () => this.openCash(),
          F1: () => this.openOpenSales(),
          F6: () => this.focusOrderDiscount(),
          F7: () => this.openPay("card"),
          F8: () => this.openPay("mpesa"),
          F9: () => this.openPay("airtel"),
          F10: () => this.openReturn(),
        };
        if (actions[event.key]) {
          event.preventDefault();
          if (!this.busy) actions[event.key]();
        }
      },
      focusOrderDiscount() {
        const field = document.getElementById("co-order-discount");
        if (field && !field.disabled) field.select();
      },
      onScanKey(event) {
        const empty = this.scanText === "";
        if ((event.key === "+" || event.key === "-") && empty) {
          event.preventDefault();
          this.bump(event.key === "+" ? 1 : -1);
        } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
          event.preventDefault();
          this.select(this.selected + (event.key === "ArrowUp" ? -1 : 1));
        } else if (event.key === "Delete" && empty) {
          event.preventDefault();
          this.removeLine(this.selected);
        }
      },

      // ---- cart -------------------------------------------------------------------------------------------
      select(i) {
        this.keepFocus(); // a line's field has the cursor (F3, Tab, a click): nothing takes it back
        if (this.lines.length) this.selected = Math.max(0, Math.min(this.lines.length - 1, i));
      },
      editQuantity() {
        const input = document.getElementById(`co-qty-${this.selected}`);
        if (input && !input.disabled) {
          this.keepFocus();
          input.focus();
          input.select();
        }
      },
      async submitScan() {
        const text = this.scanText.trim();
        this.scanText = "";
        if (this.stage === "done") this.newSale();
        if (!text) return;
        if (!this.editable) {
          this.fail(gettext("This sale is waiting for payment: take the payment or void the sale before adding items."));
          return;
        }
        if (/\s/.test(text) || text.length < 3) {
          this.openSearch(text, true);
          return;
        }
        const lookup = call(url(urls.barcode, { code: text }));
        this.scanning += 1;
        scans = scans.then(async () => {
          try {
            const product = await lookup;
            this.message = null;
            this.addProduct(product);
          } catch (err) {
            if (err.status === 404 && /[a-z]/i.test(text)) this.openSearch(text, true);
            else if (err.status === 404) {
              this.fail(interpolate(gettext("Unknown barcode %(code)s: no product for sale has it."), { code: text }, true));
            }
            else this.fail(err.message);
          }
          this.scanning -= 1;
          if (this.focusIsFree()) this.focusScanner();
        });
        await scans;
      },
      addProduct(product, quantity) {
        if (!this.editable) return;
        const weighed = product.scale_label && product.scale_label.quantity;
        const i = this.lines.findIndex((line) => line.product === product.id);
        const stock = product.stock ?? product.stock_quantity;  // what was on hand when it was looked up
        if (i >= 0 && !weighed) {
          this.lines[i].quantity = plainQuantity(toUnits(this.lines[i].quantity, 3) + 1000);
          this.selected = i;
        } else if (i >= 0) {
          this.lines[i].quantity = plainQuantity(toUnits(this.lines[i].quantity, 3) + toUnits(weighed, 3));
          this.selected = i;
        } else {
          this.lines.push({
            product: product.id, name: product.name, barcode: product.barcode, unit: product.unit,
            quantity: weighed ? plainQuantity(toUnits(weighed, 3)) : "1", discount_percent: "0", stock,
          });
          this.selected = this.lines.length - 1;
        }
        this.reprice();
      },
      overStock(line) {
        // the warning as soon as the cart asks more than was on hand (the sale itself is refused at Pay)
        if (line.stock === undefined || line.stock === null || line.stock === "") return false;
        const wanted = this.lines.filter((l) => l.product === line.product)
          .reduce((sum, l) => sum + toUnits(l.quantity, 3), 0);
        return wanted > toUnits(line.stock, 3);
      },
      stockWarning(line) {
        return interpolate(gettext("Only %(stock)s %(unit)s in stock"),
                           { stock: plainQuantity(toUnits(line.stock, 3)), unit: line.unit }, true);
      },
      quickCash() {
        // exact, then the notes a customer hands over (500, 1000) when they cover what is due
        const due = toUnits(this.due, 2);
        const notes = [50000, 100000].filter((n) => n > due);
        return [{ label: gettext("Exact"), value: this.due }, ...notes.map((n) => ({ label: groupThousands(fromUnits(n, 2).split(".")[0]), value: fromUnits(n, 2) }))];
      },
      setCashGiven(value) {
        this.cash.given = value;
        this.focusField("co-cash-given");
      },
      bump(delta, i = this.selected) {
        if (!this.editable || i < 0 || i >= this.lines.length) return;
        this.selected = i;
        const units = toUnits(this.lines[i].quantity, 3) + delta * 1000;
        if (units <= 0) this.removeLine(i);
        else {
          this.lines[i].quantity = plainQuantity(units);
          this.reprice();
        }
        this.focusScanner();
      },
      setQuantity(i, value, input) {
        if (!this.editable || !this.lines[i]) return;
        const text = String(value).trim();
        if (text === this.lines[i].quantity) return;
        if (!QUANTITY.test(text)) {
          this.fail(text.includes(",")
            ? `"${text}": use a point for decimals (1.5), not a comma.`
            : `"${text}" is not a quantity.`);
          if (input) input.value = this.lines[i].quantity;
          return;
        }
        if (toUnits(text, 3) === 0) {
          this.removeLine(i);
          return;
        }
        this.lines[i].quantity = text;
        this.reprice();
      },
      setDiscount(i, value) {
        if (!this.editable || !this.lines[i]) return;
        const text = String(value).trim() || "0";
        if (text === this.lines[i].discount_percent) return;
        this.lines[i].discount_percent = text;
        this.reprice();
      },
      removeLine(i) {
        if (!this.editable || i < 0 || i >= this.lines.length) return;
        this.lines.splice(i, 1);
        this.selected = Math.min(this.selected, this.lines.length - 1);
        this.reprice();
        this.focusScanner();
      },
      cartBody() {
        const body = {
          items: this.lines.map((line) => ({
            product: line.product, quantity: line.quantity, discount_percent: line.discount_percent || "0",
          })),
          discount_percent: this.orderPercent || "0",
          customer_phone: this.customerPhone,
        };
        if (this.manager) body.manager = this.manager;
        return body;
      },
      reprice() {
        pricing = this.priceCart();
        return pricing;
      },
      async priceCart() {
        const seq = ++this.priceSeq;
        try {
          const data = await call(urls.price, { method: "POST", body: this.cartBody() });
          if (seq !== this.priceSeq) return;
          if (this.message && this.message.kind === "error") this.message = null;
          this.cart = data;
          data.lines.forEach((line, i) => {
            if (this.lines[i] && this.lines[i].product === line.product) this.lines[i].quantity = line.quantity;
          });
          this.lastGood = this.snapshot();
        } catch (err) {
          if (seq !== this.priceSeq) return;
          if (err.code === "discount_not_allowed" && !this.manager) {
            const wanted = this.snapshot();
            this.lines = JSON.parse(JSON.stringify(this.lastGood.lines));
            this.orderPercent = this.lastGood.orderPercent;
            if (await this.askManager(`${err.message}`)) {
              this.lines = wanted.lines;
              this.orderPercent = wanted.orderPercent;
              this.reprice();
            }
            return;
          }
          this.fail(`${err.message} ${gettext("The cart is back as it was before this change.")}`);
          this.lines = JSON.parse(JSON.stringify(this.lastGood.lines));
          this.orderPercent = this.lastGood.orderPercent;
          this.selected = Math.min(this.selected, this.lines.length - 1);
        }
      },

      // ---- a manager's PIN at this till ---------------------------------------------------------------------
      askManager(reason) {
        // Resolves with {username, pin} (kept for this sale in this.manager) or null when cancelled.
        return new Promise((resolve) => {
          this.pin = { username: "", pin: "", reason, resolve, back: this.dialog };
          this.openDialog("pin", "co-pin-user");
        });
      },
      submitPin() {
        const { username, pin, resolve, back } = this.pin;
        if (!username || !pin) return;
        this.manager = { username: username.trim(), pin };
        this.pin = { username: "", pin: "", reason: "", resolve: null, back: null };
        this.dialog = back || null;
        if (!back) this.focusScanner();
        if (resolve) resolve(this.manager);
      },
      cancelPin() {
        const { resolve, back } = this.pin;
        this.pin = { username: "", pin: "", reason: "", resolve: null, back: null };
        this.dialog = back || null;
        if (!back) this.focusScanner();
        if (resolve) resolve(null);
      },

      // ---- search -----------------------------------------------------------------------------------------
      openSearch(text, fromScan = false) {
        if (!this.editable) return;
        this.search = { text: text || "", results: [], active: 0, done: false, fromScan };
        this.openDialog("search", "co-search-input");
        if (this.search.text) this.runSearch();
      },
      async runSearch() {
        const text = this.search.text.trim();
        if (text.length < 2) {
          this.search.results = [];
          this.search.done = false;
          return;
        }
        try {
          const data = await call(url(urls.search, { q: text }));
          if (text !== this.search.text.trim()) return;
          this.search.results = data.results;
          this.search.active = 0;
          this.search.done = true;
          if (!data.results.length && this.search.fromScan) this.noMatch(text);
        } catch (err) {
          this.fail(err.message);
        }
      },
      moveResult(step) {
        const count = this.search.results.length;
        if (count) this.search.active = (this.search.active + step + count) % count;
      },
      noMatch(text) {
        // nothing found for what came from the scanner: back to the scanner, so the next scan is not lost
        this.closeDialog();
        this.fail(interpolate(gettext('No product matches "%(text)s".'), { text }, true));
      },
      pickResult(product = this.search.results[this.search.active]) {
        if (!product) {
          if (this.search.done) this.noMatch(this.search.text.trim());
          return;
        }
        this.closeDialog();
        this.addProduct(product);
      },

      // ---- dialogs ----------------------------------------------------------------------------------------
      openDialog(name, fieldId) {
        this.message = null;
        this.dialog = name;
        this.focusField(fieldId);
      },
      focusField(id, tries = 60) {
        // a field inside an x-if block exists only once Alpine has rendered it: try for up to a second
        requestAnimationFrame(() => {
          const field = document.getElementById(id);
          if (field && field.offsetParent !== null) field.focus();
          else if (tries > 0) this.focusField(id, tries - 1);
        });
      },
      closeDialog() {
        if (this.dialog === "pin") {
          this.cancelPin();
          return;
        }
        this.dialog = null;
        this.focusScanner();
      },

      // ---- the sale -----------------------------------------------------------------------------------------
      canTender() {
        if (this.stage === "tender") return true;
        if (this.stage !== "cart" || (!this.lines.length && !this.scanning)) {
          this.fail(gettext("Scan a product first."));
          return false;
        }
        return true;
      },
      saleUrl(id, action = "") {
        // ?receipt=1: the answer carries the paid sale's 80 mm receipt (one request, no second fetch)
        return `${url(urls.sale, { id })}${action}?receipt=1`;
      },
      paymentUrl(id, action = "") {
        return url(urls.payment, { id }) + action;
      },
      linesFromSale(sale) {
        return sale.items.map((item) => ({
          product: item.product, name: item.name, barcode: item.barcode, unit: "",
          quantity: plainQuantity(toUnits(item.quantity, 3)),
          discount_percent: "0",
        }));
      },
      setSale(sale) {
        if (sale.status === "cancelled") {
          // voided, or expired unpaid (SALE_PAYMENT_TIMEOUT): the stock is back and the cart editable again
          this.sale = null;
          this.saleId = null;
          this.cartKey = newKey();
          this.info(interpolate(gettext("Sale %(receipt)s was cancelled; its stock is back. The cart can be changed and charged again."),
                               { receipt: sale.receipt_number }, true));
          return;
        }
        const wasPaid = this.sale && this.sale.id === sale.id && this.sale.status === "paid";
        this.sale = sale;
        this.saleId = sale.id;
        if (!this.lines.length && sale.items.length) this.lines = this.linesFromSale(sale);
        this.cart = { ...EMPTY_CART, subtotal: sale.subtotal, discount: sale.discount, tax: sale.tax,
          rounding: sale.rounding, total: sale.total, lines: sale.items.map((i) => ({ ...i })) };
        if (sale.payments.some((p) => p.in_flight)) this.startPolling();
        const mine = this.payment;
        if (mine && mine.result_code === "provider_busy" && !this.retryIn) this.pay.retryAt = this.pay.sentAt + PROVIDER_WAIT_MS;
        if (sale.status === "paid" && !wasPaid) {
          this.dialog = null;
          this.focusScanner();
        }
      },
      async resumeSale(id) {
        try {
          const sale = await call(this.saleUrl(id));
          if (sale.status !== "pending_payment" && sale.status !== "paid") {
            this.saleId = null;
            return;
          }
          this.lines = this.linesFromSale(sale);
          this.cartKey = newKey();
          this.setSale(sale);
          const live = sale.payments.find((p) => p.in_flight);
          if (live) this.pay = { ...this.pay, method: live.method, paymentId: live.id, sentAt: Date.now() };
        } catch (err) {
          if (!err.network) this.saleId = null;
        }
      },
      startPolling() {
        if (this.pollTimer) return;
        this.pollTimer = setInterval(() => this.poll(), POLL_MS);
      },
      async poll() {
        if (!this.sale || !this.sale.payments.some((p) => p.in_flight)) {
          clearInterval(this.pollTimer);
          this.pollTimer = null;
          return;
        }
        try {
          await this.refreshSale();
        } catch (err) {
          if (!err.network) this.fail(err.message);
        }
      },
      async refreshSale() {
        if (this.sale) this.setSale(await call(this.saleUrl(this.sale.id)));
      },
      async recoverSale() {
        // An answer was lost (timeout, network): the server may have done it. Re-read what it holds.
        const id = this.sale ? this.sale.id : this.saleId;
        if (id) {
          await this.refreshSale().catch(() => null);
          return;
        }
      },
      async failPayment(err) {
        if (err.status === 409 && err.data && err.data.sale) {
          // this cart's key already made a sale (its answer was lost, then the cart changed): resume or void it
          this.conflict = err.data.sale;
          this.openDialog("conflict", "co-conflict-resume");
          return;
        }
        this.fail(err.message);
        // a lost answer (network, timeout, a proxy's 5xx): the server may have done it; re-read the sale
        if (err.network || err.status >= 500) await this.recoverSale();
        // the sale changed elsewhere (expired unpaid, voided in the back office, paid): show what it is now
        if (err.code === "not_payable") await this.refreshSale().catch(() => null);
      },
      resumeConflict() {
        const sale = this.conflict;
        this.conflict = null;
        this.dialog = null;
        this.lines = this.linesFromSale(sale);
        this.cartKey = newKey();
        this.setSale(sale);
        this.info(`Sale ${sale.receipt_number} resumed as it was made: take its payment, or void it to change the cart.`);
        this.refreshSale().catch(() => null); // with its receipt when it is paid already
        this.focusScanner();
      },
      async voidConflict() {
        const sale = this.conflict;
        if (this.busy || !sale) return;
        this.busy = true;
        try {
          await call(this.saleUrl(sale.id, "cancel/"), { method: "POST", body: { reason: "Voided at the till (cart changed)" } });
          this.conflict = null;
          this.dialog = null;
          this.sale = null;
          this.saleId = null;
          this.cartKey = newKey();
          this.info(`Sale ${sale.receipt_number} voided; its stock is back. Charge the cart as it is now.`);
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
          this.focusScanner();
        }
      },
      async voidSale() {
        if (!this.sale || this.busy) return;
        this.busy = true;
        try {
          this.setSale(await call(this.saleUrl(this.sale.id, "cancel/"), { method: "POST", body: { reason: "Voided at the till" } }));
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
          this.focusScanner();
        }
      },
      async voidPaidSale() {
        if (!this.sale || this.busy) return;
        let manager = this.config.is_manager ? null : this.manager;
        if (!this.config.is_manager && !manager) manager = await this.askManager("Voiding a paid sale needs a manager's PIN.");
        if (!this.config.is_manager && !manager) return;
        this.busy = true;
        try {
          const answer = await call(this.saleUrl(this.sale.id, "void/"), {
            method: "POST", body: { reason: "Voided at the till", manager },
          });
          this.setSale(await call(this.saleUrl(this.sale.id)));
          this.info(`Sale voided: ${this.money(answer.amount)} back to the customer` +
            (answer.refund_error ? ` (owed: ${answer.owed})` : "."));
        } catch (err) {
          this.manager = null;
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      // The first tender confirms the sale and pays in ONE request; later tenders pay the sale.
      async tender(body, key) {
        if (!this.sale) {
          await settled(); // every scan typed before the tender key is in the sale
          const sale = await call(`${urls.sales}?receipt=1`, {
            method: "POST", key: this.cartKey, body: { ...this.cartBody(), payments: [body] },
          });
          const [result] = sale.tenders || [];
          this.setSale(sale);
          if (result && result.error) {
            const text = Object.values(window.posApi.flattenErrors(result.error)).flat().join(" ");
            throw new window.posApi.ApiError(text, { status: 400, code: result.error.code, data: result.error });
          }
          return { sale, paymentId: result ? result.payment : null };
        }
        const sale = await call(this.saleUrl(this.sale.id, "pay/"), { method: "POST", key, body });
        this.setSale(sale);
        return { sale, paymentId: sale.payment };
      },

      // ---- open and partly paid sales (on the server: any browser resumes them) ---------------------------
      async openOpenSales() {
        if (this.sale && this.stage === "tender") {
          this.fail("Finish or void this sale first.");
          return;
        }
        this.openSales = { list: [], active: 0, loaded: false };
        this.openDialog("open-sales", "co-open-sales-list");
        try {
          const data = await call(urls.open_sales);
          this.openSales = { list: data.results || data, active: 0, loaded: true };
          this.focusField("co-open-sales-list");
        } catch (err) {
          this.fail(err.message);
        }
      },
      moveOpenSale(step) {
        const count = this.openSales.list.length;
        if (count) this.openSales.active = (this.openSales.active + step + count) % count;
      },
      async pickOpenSale(sale = this.openSales.list[this.openSales.active]) {
        if (!sale) return;
        this.dialog = null;
        this.lines = [];
        this.orderPercent = "0";
        await this.resumeSale(sale.id);
        this.info(`Sale ${sale.receipt_number} resumed: ${this.money(sale.balance_due)} still due.`);
        this.focusScanner();
      },

      // ---- cash ---------------------------------------------------------------------------------------------
      openCash() {
        if (!this.canTender()) return;
        this.cash = { given: "", amount: this.due, key: newKey() };
        this.openDialog("cash", "co-cash-given");
        this.proposeWhenPriced("cash", this.cash);
      },
      proposeWhenPriced(dialog, form) {
        // The dialog opens at once (the cashier's next keys land in it); the amount it proposes follows the
        // scans still on their way, unless the cashier changed it already.
        // A cashier already in the amount field (tabbed there, or selected it to type over) keeps that: the
        // new proposal is selected, so what they type next replaces it instead of being appended to it.
        const proposed = form.amount;
        settled().then(() => {
          if (this.dialog !== dialog || form.amount !== proposed) return;
          form.amount = this.due;
          const field = document.activeElement;
          if (field && (field.id === "co-cash-amount" || field.id === "co-pay-amount")) this.$nextTick(() => field.select());
        });
      },
      async payCash() {
        if (this.busy) return;
        this.busy = true;
        await settled(); // the amount proposed follows scans still on their way (proposeWhenPriced)
        const body = { method: "cash", amount_tendered: this.cash.given, amount: this.cash.amount };
        try {
          const { sale, paymentId } = await this.tender(body, this.cash.key);
          const payment = sale.payments.find((p) => p.id === paymentId);
          this.closeDialog();
          if (payment) {
            // this tender's own change, now: hand it over before taking the next tender
            const text = `Cash ${this.money(payment.amount)} taken: give ${this.money(payment.change_given)} change now.`;
            if (sale.status !== "paid") this.info(`${text} Still due: ${this.money(sale.balance_due)}.`);
            else this.message = null;
          }
        } catch (err) {
          if (!err.network && !(err.status >= 500)) this.cash.key = newKey(); // an unknown outcome keeps its key
          await this.failPayment(err);
        } finally {
          this.busy = false;
        }
      },

      // ---- M-Pesa, Airtel Money, card -------------------------------------------------------------------------
      openPay(method) {
        if (!this.canTender()) return;
        const live = this.sale && this.sale.payments.find((p) => p.in_flight && p.method === method);
        this.pay = {
          method, phone: this.customerPhone, amount: this.due, key: newKey(),
          paymentId: live ? live.id : null, sentAt: live ? Date.now() : 0, retryAt: this.pay.retryAt,
        };
        this.openDialog("pay", method === "card" ? "co-pay-amount" : "co-pay-phone");
        this.proposeWhenPriced("pay", this.pay);
      },
      async sendPay() {
        if (this.busy || this.waiting || this.retryIn) return;
        this.busy = true;
        this.message = null;
        await settled();
        try {
          this.pay.sentAt = Date.now();
          const body = { method: this.pay.method, phone_number: this.pay.phone, amount: this.pay.amount };
          const { sale, paymentId } = await this.tender(body, this.pay.key);
          this.pay.paymentId = paymentId;
          this.pay.key = newKey(); // the next attempt, if this one fails, is a new payment
          const payment = sale.payments.find((p) => p.id === paymentId);
          if (payment && !payment.in_flight && payment.status !== "completed") this.fail(payment.result_message);
        } catch (err) {
          if (!err.network && !(err.status >= 500)) this.pay.key = newKey();
          if (err.code === "provider_busy") this.pay.retryAt = this.pay.sentAt + PROVIDER_WAIT_MS;
          await this.failPayment(err);
        } finally {
          this.busy = false;
        }
      },
      async cancelPay() {
        if (!this.payment || this.busy) return;
        this.busy = true;
        try {
          await call(this.paymentUrl(this.payment.id, "cancel/"), { method: "POST", body: { reason: "Cancelled at the till" } });
          await this.refreshSale();
          this.info(gettext("Payment request cancelled. If the customer pays anyway, the money is recorded, never lost."));
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      async checkPay() {
        if (!this.payment || this.busy) return;
        this.busy = true;
        try {
          await call(this.paymentUrl(this.payment.id, "verify/"), { method: "POST", body: {} });
          await this.refreshSale();
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },

      // ---- returns and refunds at the till ------------------------------------------------------------------------
      openReturn() {
        this.ret = { receipt: "", sale: null, quantities: {}, refund: "cash", reason: "", result: null };
        this.openDialog("return", "co-return-receipt");
      },
      async findReturnSale() {
        const text = this.ret.receipt.trim();
        if (!text || this.busy) return;
        this.busy = true;
        try {
          const data = await call(url(urls.find_sale, { q: text }));
          const found = (data.results || data).find((s) => s.receipt_number.toUpperCase() === text.toUpperCase())
            || (data.results || data)[0];
          if (!found) throw new Error(`No sale ${text}.`);
          const sale = await call(this.saleUrl(found.id));
          const quantities = {};
          sale.items.forEach((item) => { quantities[item.id] = "0"; });
          this.ret = { ...this.ret, sale, quantities, result: null };
          this.message = null;
          this.focusField(sale.items.length ? `co-ret-qty-${sale.items[0].id}` : "co-return-receipt");
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      returnLeft(item) {
        return plainQuantity(toUnits(item.quantity, 3) - toUnits(item.returned_quantity, 3));
      },
      async submitReturn() {
        if (this.ret.result) {
          this.closeDialog();
          return;
        }
        if (!this.ret.sale) {
          await this.findReturnSale();
          return;
        }
        if (this.busy) return;
        const items = Object.entries(this.ret.quantities)
          .filter(([, q]) => String(q).trim() && toUnits(String(q).trim(), 3) > 0)
          .map(([item, quantity]) => ({ item: Number(item), quantity: String(quantity).trim() }));
        if (!items.length) {
          this.fail("Type how many of a line come back.");
          return;
        }
        if (items.some((i) => !QUANTITY.test(i.quantity))) {
          this.fail("Quantities use a point for decimals (1.5), not a comma.");
          return;
        }
        let manager = null;
        if (!this.config.is_manager) {
          manager = await this.askManager("A return at a cashier's till needs a manager's PIN.");
          if (!manager) return;
        }
        this.busy = true;
        try {
          const answer = await call(this.saleUrl(this.ret.sale.id, "return/"), {
            method: "POST",
            body: { items, reason: this.ret.reason || "Returned at the till", refund: this.ret.refund, manager },
          });
          this.ret.result = answer;
          this.manager = null;
          this.message = answer.refund_error
            ? { kind: "error", text: `Return recorded; the refund could not be paid now and stays owed: ${Object.values(window.posApi.flattenErrors(answer.refund_error)).flat().join(" ")}` }
            : null;
          this.focusField("co-return-done");
        } catch (err) {
          this.manager = null;
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      async openOwed() {
        this.owed = { list: [], loaded: false };
        this.openDialog("owed", "co-owed-close");
        try {
          const data = await call(urls.refunds_owed);
          this.owed = { list: data.results || data, loaded: true };
        } catch (err) {
          this.fail(err.message);
        }
      },
      async payOwed(row, how) {
        if (this.busy) return;
        let manager = null;
        if (!this.config.is_manager) {
          manager = await this.askManager("A refund at a cashier's till needs a manager's PIN.");
          if (!manager) return;
        }
        this.busy = true;
        try {
          await call(url(urls.return_refund, { id: row.id }), { method: "POST", key: newKey(), body: { refund: how, manager } });
          this.info(`Refund of return #${row.id} (${row.receipt_number}) paid by ${this.methodName(how)}.`);
          const data = await call(urls.refunds_owed);
          this.owed = { list: data.results || data, loaded: true };
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.manager = null;
          this.busy = false;
        }
      },

      // ---- refunds waiting for a manager's approval, approved here with the manager's PIN ---------------------
      async loadWaiting() {
        const data = await call(urls.refunds_waiting);
        this.approvals = { list: data.results || data, loaded: true };
      },
      async openWaiting() {
        this.approvals = { list: [], loaded: false };
        this.openDialog("waiting", "co-waiting-close");
        try {
          await this.loadWaiting();
        } catch (err) {
          this.fail(err.message);
        }
      },
      async approveWaiting(row) {
        if (this.busy) return;
        let manager = null;
        if (!this.config.is_manager) {
          manager = await this.askManager(gettext("Approving a refund needs a manager's PIN."));
          if (!manager) return;
        }
        this.busy = true;
        try {
          await call(url(urls.return_approve, { id: row.sale_return }), { method: "POST", body: { manager } });
          await this.loadWaiting();
          this.info(interpolate(gettext("Refund of %(amount)s on %(receipt)s approved."),
                                { amount: this.money(row.amount), receipt: row.receipt_number }, true));
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.manager = null;
          this.busy = false;
        }
      },

      // ---- cash in / cash out of the drawer --------------------------------------------------------------------
      openDrawer() {
        this.drawer = { kind: "in", amount: "", reason: "" };
        this.openDialog("drawer", "co-drawer-kind");
      },
      async saveDrawer(manager = null) {
        if (this.busy) return;
        this.busy = true;
        const body = { kind: this.drawer.kind, amount: this.drawer.amount, reason: this.drawer.reason, manager };
        try {
          const saved = await call(urls.cash_movements, { method: "POST", body });
          this.closeDialog();
          this.info(interpolate(saved.kind === "in" ? gettext("Cash in of %(amount)s recorded.") : gettext("Cash out of %(amount)s recorded."),
                                { amount: this.money(saved.amount) }, true));
        } catch (err) {
          this.busy = false;
          if (err.code === "not_allowed" && !manager) {
            const pin = await this.askManager(err.message);
            this.manager = null;
            if (pin) await this.saveDrawer(pin);
            return;
          }
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },

      // ---- shift ----------------------------------------------------------------------------------------------
      shiftSince(shift) {
        const when = new Date(shift.opened_at);
        return Number.isNaN(when.getTime()) ? shift.opened_at
          : when.toLocaleString(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
      },
      async openShift() {
        if (this.busy) return;
        this.busy = true;
        try {
          this.shift = await call(urls.shift_open, { method: "POST", body: { opening_float: this.openingFloat } });
          this.message = null;
          this.openingFloat = "";
          this.focusScanner();
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      reportUrl(format = "") {
        const base = url(urls.shift_report, { id: this.shift ? this.shift.id : (this.closing.z && this.closing.z.shift) });
        return format ? `${base}?format=${format}` : base;
      },
      async openCloseShift() {
        try {
          const report = await call(this.reportUrl());
          this.closing = { report, counted: "", z: null };
          this.openDialog("close-shift", "co-counted");
        } catch (err) {
          this.fail(err.message);
        }
      },
      async closeShift() {
        if (this.busy) return;
        this.busy = true;
        try {
          this.closing.z = await call(url(urls.shift_close, { id: this.shift.id }), {
            method: "POST", body: { counted_cash: this.closing.counted },
          });
          this.message = null;
          this.shift = null;
          this.focusField("co-close-done");
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      zUrl(format) {
        return `${url(urls.shift_report, { id: this.closing.z.shift })}?format=${format}`;
      },

      // ---- receipt, new sale ----------------------------------------------------------------------------------
      printReceipt() {
        window.print();
        this.focusScanner();
      },
      newSale() {
        this.lines = [];
        this.cart = EMPTY_CART;
        this.lastGood = { lines: [], orderPercent: "0" };
        this.orderPercent = "0";
        this.customerPhone = "";
        this.selected = -1;
        this.sale = null;
        this.saleId = null;
        this.message = null;
        this.manager = null;
        this.cartKey = newKey();
        this.pay = { method: "", phone: "", amount: "", key: "", paymentId: null, sentAt: 0, retryAt: 0 };
        this.focusScanner();
      },
    };
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("checkout", checkout);
  });
})();
