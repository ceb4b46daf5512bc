/* The cashier's checkout page: an Alpine.js component (Alpine ships with django-unfold).
 *
 * The cart lives here (and in localStorage, so a reload keeps it); every amount shown comes from the
 * server: the "price" endpoint prices the cart with the service that writes the sale. Confirming the
 * sale sends one Idempotency-Key per cart and every payment one per tender attempt, so a double click,
 * a retry or a reload never makes a second sale or payment.
 */
(function () {
  "use strict";

  const EMPTY_CART = { lines: [], subtotal: "0.00", discount: "0.00", tax: "0.00", total: "0.00" };
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

  function checkout() {
    const config = JSON.parse(document.getElementById("checkout-config").textContent);
    const saved = (name, value) => window.Alpine.$persist(value).as(`${config.storage_key}-${name}`);
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

      init() {
        window.addEventListener("focus", () => this.focusScanner());
        // the quick keys grid (pos/static/pos/quickkeys.js) adds its products through the same cart
        window.addEventListener("pos:add-product", (event) => {
          this.addProduct(event.detail.product, event.detail.quantity);
          this.focusScanner();
        });
        setInterval(() => { this.now = Date.now(); }, 1000);
        this.lastGood = this.snapshot();
        if (this.lines.length) this.reprice();
        if (this.saleId) this.resumeSale();
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
        this.$nextTick(() => {
          if (this.dialog) return;
          const target = this.shift ? this.$refs.scan : this.$refs.float;
          if (!target || target.disabled) return;
          target.focus();
          if (document.activeElement !== target && tries > 0) setTimeout(() => this.focusScanner(tries - 1), 50);
        });
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
        if (this.dialog || !this.shift) return;
        const actions = {
          F2: () => this.openSearch(""),
          F3: () => this.editQuantity(),
          F4: () => this.openCash(),
          F6: () => this.focusOrderDiscount(),
          F7: () => this.openPay("card"),
          F8: () => this.openPay("mpesa"),
          F9: () => this.openPay("airtel"),
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
        if (this.lines.length) this.selected = Math.max(0, Math.min(this.lines.length - 1, i));
      },
      editQuantity() {
        const input = document.getElementById(`co-qty-${this.selected}`);
        if (input && !input.disabled) input.select();
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
        if (/\s/.test(text)) {
          this.openSearch(text, true);
          return;
        }
        const lookup = call(`${this.config.urls.scan}?code=${encodeURIComponent(text)}`);
        scans = scans.then(async () => {
          try {
            const data = await lookup;
            this.message = null;
            this.addProduct(data.product, data.quantity);  // a scale label's weight (or priced quantity)
          } catch (err) {
            if (err.data && err.data.code === "unknown_barcode" && /[a-z]/i.test(text)) this.openSearch(text, true);
            else this.fail(err.message);
          }
          this.focusScanner();
        });
        await scans;
      },
      addProduct(product, quantity) {
        if (!this.editable) return;
        const i = this.lines.findIndex((line) => line.product === product.id);
        const stock = product.stock ?? product.stock_quantity;  // what was on hand when it was looked up
        if (quantity && i >= 0) {  // another scale label of a product in the cart: its weight is added
          this.lines[i].quantity = plainQuantity(toUnits(this.lines[i].quantity, 3) + toUnits(quantity, 3));
          this.selected = i;
        } else if (quantity) {  // a weighed item from a scale label, at the label's quantity
          this.lines.push({
            product: product.id, name: product.name, barcode: product.barcode, unit: product.unit,
            quantity: String(quantity), discount_percent: "0", stock,
          });
          this.selected = this.lines.length - 1;
        } else if (i >= 0) {
          this.lines[i].quantity = plainQuantity(toUnits(this.lines[i].quantity, 3) + 1000);
          this.selected = i;
        } else {
          this.lines.push({
            product: product.id, name: product.name, barcode: product.barcode, unit: product.unit,
            quantity: "1", discount_percent: "0", stock,
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
      setQuantity(i, value) {
        if (!this.editable || !this.lines[i]) return;
        const text = String(value).trim();
        if (text === this.lines[i].quantity) return;
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
        return {
          items: this.lines.map((line) => ({
            product: line.product, quantity: line.quantity, discount_percent: line.discount_percent,
          })),
          discount_percent: this.orderPercent || "0",
          customer_phone: this.customerPhone,
        };
      },
      async reprice() {
        const seq = ++this.priceSeq;
        try {
          const data = await call(this.config.urls.price, { method: "POST", body: this.cartBody() });
          if (seq !== this.priceSeq) return;
          if (this.message && this.message.kind === "error") this.message = null;
          this.cart = data;
          data.lines.forEach((line, i) => {
            if (this.lines[i] && this.lines[i].product === line.product) this.lines[i].quantity = line.quantity;
          });
          this.lastGood = this.snapshot();
        } catch (err) {
          if (seq !== this.priceSeq) return;
          this.fail(`${err.message} ${gettext("The cart is back as it was before this change.")}`);
          this.lines = JSON.parse(JSON.stringify(this.lastGood.lines));
          this.orderPercent = this.lastGood.orderPercent;
          this.selected = Math.min(this.selected, this.lines.length - 1);
        }
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
          const data = await call(`${this.config.urls.search}?q=${encodeURIComponent(text)}`);
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
        this.dialog = null;
        this.focusScanner();
      },

      // ---- the sale -----------------------------------------------------------------------------------------
      canTender() {
        if (this.stage === "tender") return true;
        if (this.stage !== "cart" || !this.lines.length) {
          this.fail(gettext("Scan a product first."));
          return false;
        }
        return true;
      },
      async ensureSale() {
        if (this.sale && this.sale.status === "pending_payment") return this.sale;
        for (let attempt = 0; attempt < 2 && !this.sale; attempt += 1) {
          // a retry of the same cart answers the same sale; a sale cancelled meanwhile gets the cart a new key
          const data = await call(this.config.urls.sales, { method: "POST", key: this.cartKey, body: this.cartBody() });
          this.setSale(data.sale);
        }
        if (!this.sale) throw new Error(gettext("The sale could not be confirmed: try again."));
        return this.sale;
      },
      saleUrl(id, action = "") {
        return this.config.urls.sale.replace(/\/0\/$/, `/${id}/`) + action;
      },
      paymentUrl(id, action = "") {
        return this.config.urls.payment.replace(/\/0\/$/, `/${id}/`) + action;
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
        if (sale.payments.some((p) => p.in_flight)) this.startPolling();
        if (sale.status === "paid" && !wasPaid) {
          this.dialog = null;
          this.message = null;
          this.focusScanner();
        }
      },
      async resumeSale() {
        try {
          const data = await call(this.saleUrl(this.saleId));
          this.setSale(data.sale);
          const live = data.sale.payments.find((p) => p.in_flight);
          if (live) this.pay = { ...this.pay, method: live.method, paymentId: live.id, sentAt: Date.now() };
        } catch (err) {
          this.saleId = null;
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
        if (this.sale) this.setSale((await call(this.saleUrl(this.sale.id))).sale);
      },
      async failPayment(err) {
        this.fail(err.message);
        // the sale changed elsewhere (expired unpaid, voided in the back office, paid): show what it is now
        if (err.data && err.data.code === "not_payable") await this.refreshSale().catch(() => null);
      },
      async voidSale() {
        if (!this.sale || this.busy) return;
        this.busy = true;
        try {
          this.setSale((await call(this.saleUrl(this.sale.id, "cancel/"), { method: "POST", body: {} })).sale);
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
          this.focusScanner();
        }
      },

      // ---- cash ---------------------------------------------------------------------------------------------
      openCash() {
        if (!this.canTender()) return;
        this.cash = { given: "", amount: this.due, key: newKey() };
        this.openDialog("cash", "co-cash-given");
      },
      async payCash() {
        if (this.busy) return;
        this.busy = true;
        try {
          const sale = await this.ensureSale();
          const data = await call(this.saleUrl(sale.id, "payments/"), {
            method: "POST", key: this.cash.key,
            body: { method: "cash", amount: this.cash.amount, amount_tendered: this.cash.given },
          });
          this.setSale(data.sale);
          this.closeDialog();
          if (data.sale.status !== "paid") {
            this.info(interpolate(gettext("Cash %(amount)s taken, change %(change)s. Still due: %(due)s."), {
              amount: this.money(data.payment.amount), change: this.money(data.payment.change_given),
              due: this.money(data.sale.balance_due) }, true));
          }
        } catch (err) {
          if (!err.network) this.cash.key = newKey();
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
      },
      async sendPay() {
        if (this.busy || this.waiting || this.retryIn) return;
        this.busy = true;
        this.message = null;
        try {
          const sale = await this.ensureSale();
          this.pay.sentAt = Date.now();
          const data = await call(this.saleUrl(sale.id, "payments/"), {
            method: "POST", key: this.pay.key,
            body: { method: this.pay.method, amount: this.pay.amount, phone_number: this.pay.phone },
          });
          this.pay.paymentId = data.payment.id;
          this.pay.key = newKey(); // the next attempt, if this one fails, is a new payment
          this.setSale(data.sale);
          if (!data.payment.in_flight && data.payment.status !== "completed") this.fail(data.payment.result_message);
        } catch (err) {
          if (!err.network) this.pay.key = newKey();
          if (err.data && err.data.code === "provider_busy") this.pay.retryAt = this.pay.sentAt + PROVIDER_WAIT_MS;
          await this.failPayment(err);
        } finally {
          this.busy = false;
        }
      },
      async cancelPay() {
        if (!this.payment || this.busy) return;
        this.busy = true;
        try {
          this.setSale((await call(this.paymentUrl(this.payment.id, "cancel/"), { method: "POST", body: {} })).sale);
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
          const data = await call(this.paymentUrl(this.payment.id, "verify/"), { method: "POST", body: {} });
          this.setSale(data.sale);
          if (data.note) this.info(data.note);
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },

      // ---- shift ----------------------------------------------------------------------------------------------
      async openShift() {
        if (this.busy) return;
        this.busy = true;
        try {
          const data = await call(this.config.urls.shift_open, { method: "POST", body: { opening_float: this.openingFloat } });
          this.shift = data.shift;
          this.message = null;
          this.openingFloat = "";
          this.focusScanner();
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      async openCloseShift() {
        try {
          const data = await call(this.config.urls.shift);
          this.closing = { report: data.report, counted: "", z: null };
          this.openDialog("close-shift", "co-counted");
        } catch (err) {
          this.fail(err.message);
        }
      },
      async closeShift() {
        if (this.busy) return;
        this.busy = true;
        try {
          const data = await call(this.config.urls.shift_close, {
            method: "POST", body: { counted_cash: this.closing.counted },
          });
          this.closing.z = data.report;
          this.message = null;
          this.shift = null;
          this.focusField("co-close-done");
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
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
