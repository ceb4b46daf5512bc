/* The cashier's checkout page: an Alpine.js component (Alpine ships with django-unfold).
 *
 * The cart lives here; every amount shown comes from the server (the "price" endpoint prices the cart
 * with the same service that writes the sale). Pay buttons send one Idempotency-Key per cart (and one per
 * tender attempt), so a double click or a retry never makes a second sale or payment.
 */
(function () {
  "use strict";

  const EMPTY_CART = { lines: [], subtotal: "0.00", discount: "0.00", tax: "0.00", total: "0.00" };
  const FIELDS = "input, select, textarea";

  function newKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Decimal strings <-> integers of a fixed scale (cents for money, thousandths for quantities): no floats.
  function toUnits(text, places) {
    const match = /^\s*(-?)(\d*)(?:[.,](\d*))?\s*$/.exec(String(text == null ? "" : text));
    if (!match || (match[2] === "" && !match[3])) return null;
    const fraction = (match[3] || "").padEnd(places, "0").slice(0, places);
    const units = parseInt(match[2] || "0", 10) * 10 ** places + parseInt(fraction || "0", 10);
    return match[1] ? -units : units;
  }

  function fromUnits(units, places) {
    const sign = units < 0 ? "-" : "";
    const digits = String(Math.abs(units)).padStart(places + 1, "0");
    const whole = digits.slice(0, digits.length - places);
    const fraction = digits.slice(digits.length - places);
    return places ? `${sign}${whole}.${fraction}` : `${sign}${whole}`;
  }

  function plainQuantity(units) {
    return fromUnits(units, 3).replace(/\.?0+$/, "") || "0";
  }

  function groupThousands(text) {
    const [whole, fraction] = String(text).split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return fraction === undefined ? grouped : `${grouped}.${fraction}`;
  }

  function csrfToken() {
    const field = document.querySelector("#checkout [name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function call(url, { method = "GET", body, key } = {}) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    let response;
    try {
      response = await fetch(url, {
        method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error("The till cannot reach the server: check the network, then try again (nothing is lost).");
    }
    if (response.redirected && /\/login\//.test(response.url)) {
      throw new Error("Your session has ended: reload the page and log in again.");
    }
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      data = {};
    }
    if (!response.ok) {
      const error = new Error(data.error || `The server refused the request (HTTP ${response.status}).`);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  function checkout() {
    return {
      config: { urls: {} },
      shift: null,
      openingFloat: "",
      lines: [],
      cart: EMPTY_CART,
      lastGood: { lines: [], orderPercent: "0" },
      orderPercent: "0",
      customerPhone: "",
      selected: -1,
      cartKey: newKey(),
      sale: null,
      scanText: "",
      message: null,
      busy: false,
      dialog: null,
      search: { text: "", results: [], active: 0, done: false },
      cash: { given: "", amount: "", key: "" },
      receiptHtml: "",
      priceSeq: 0,

      init() {
        this.config = JSON.parse(document.getElementById("checkout-config").textContent);
        this.shift = this.config.shift;
        window.addEventListener("focus", () => this.focusScanner());
        this.focusScanner();
      },

      // ---- state ------------------------------------------------------------------------------------------
      get stage() {
        if (!this.shift) return "no-shift";
        if (!this.sale || this.sale.status === "cancelled") return "cart";
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
      get receiptPdfUrl() {
        return this.sale && this.sale.receipt_pdf_url ? this.sale.receipt_pdf_url : "#";
      },
      money(value) {
        if (value === null || value === undefined || value === "") return "—";
        return `${this.config.currency} ${groupThousands(value)}`;
      },
      priced(i, field) {
        const line = this.cart.lines[i];
        return line && line.product === this.lines[i].product ? this.money(line[field]) : "…";
      },
      fail(text) {
        this.message = { kind: "error", text };
      },
      info(text) {
        this.message = { kind: "info", text };
      },

      // ---- focus: the scanner input keeps the focus unless the cashier works in another field ------------
      focusScanner() {
        this.$nextTick(() => {
          if (this.dialog) return;
          const target = this.shift ? this.$refs.scan : this.$refs.float;
          if (target && !target.disabled) target.focus();
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
        };
        Object.assign(actions, this.tenderShortcuts ? this.tenderShortcuts() : {});
        if (actions[event.key]) {
          event.preventDefault();
          if (!this.busy) actions[event.key]();
        }
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
        if (!this.lines.length) return;
        this.selected = Math.max(0, Math.min(this.lines.length - 1, i));
      },
      editQuantity() {
        if (this.selected < 0) return;
        const input = document.getElementById(`co-qty-${this.selected}`);
        if (input && !input.disabled) input.select();
      },
      async submitScan() {
        const text = this.scanText.trim();
        this.scanText = "";
        if (this.stage === "done") {
          this.newSale();
          if (!text) return;
        }
        if (!text) return;
        if (!this.editable) {
          this.fail("This sale is waiting for payment: take the payment or void the sale before adding items.");
          return;
        }
        if (/\s/.test(text)) {
          this.openSearch(text);
          return;
        }
        try {
          const data = await call(`${this.config.urls.scan}?code=${encodeURIComponent(text)}`);
          this.message = null;
          this.addProduct(data.product);
        } catch (err) {
          if (err.data && err.data.code === "unknown_barcode" && /[a-z]/i.test(text)) this.openSearch(text);
          else this.fail(err.message);
        }
        this.focusScanner();
      },
      addProduct(product) {
        if (!this.editable) return;
        const i = this.lines.findIndex((line) => line.product === product.id);
        if (i >= 0) {
          this.lines[i].quantity = plainQuantity(toUnits(this.lines[i].quantity, 3) + 1000);
          this.selected = i;
        } else {
          this.lines.push({
            product: product.id, name: product.name, barcode: product.barcode, unit: product.unit,
            quantity: "1", discount_percent: "0",
          });
          this.selected = this.lines.length - 1;
        }
        this.reprice();
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
          this.cart = data;
          data.lines.forEach((line, i) => {
            if (this.lines[i] && this.lines[i].product === line.product) this.lines[i].quantity = line.quantity;
          });
          this.lastGood = JSON.parse(JSON.stringify({ lines: this.lines, orderPercent: this.orderPercent }));
        } catch (err) {
          if (seq !== this.priceSeq) return;
          this.fail(`${err.message} The cart is as it was before this change.`);
          this.lines = JSON.parse(JSON.stringify(this.lastGood.lines));
          this.orderPercent = this.lastGood.orderPercent;
          this.selected = Math.min(this.selected, this.lines.length - 1);
        }
      },

      // ---- search -----------------------------------------------------------------------------------------
      openSearch(text) {
        if (!this.editable) return;
        this.search = { text: text || "", results: [], active: 0, done: false };
        this.dialog = "search";
        this.$nextTick(() => this.$refs.searchInput.focus());
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
        } catch (err) {
          this.fail(err.message);
        }
      },
      moveResult(step) {
        const count = this.search.results.length;
        if (count) this.search.active = (this.search.active + step + count) % count;
      },
      pickResult() {
        const product = this.search.results[this.search.active];
        if (!product) return;
        this.closeDialog();
        this.addProduct(product);
      },

      // ---- dialogs ----------------------------------------------------------------------------------------
      openDialog(name, ref) {
        this.message = null;
        this.dialog = name;
        this.$nextTick(() => {
          const target = this.$refs[ref];
          if (target) target.focus();
        });
      },
      closeDialog() {
        this.dialog = null;
        this.focusScanner();
      },

      // ---- tender -----------------------------------------------------------------------------------------
      canTender() {
        if (this.stage === "tender") return true;
        if (this.stage !== "cart" || !this.lines.length) {
          this.fail("Scan a product first.");
          return false;
        }
        return true;
      },
      async ensureSale() {
        if (this.sale && this.sale.status === "pending_payment") return this.sale;
        const data = await call(this.config.urls.sales, { method: "POST", key: this.cartKey, body: this.cartBody() });
        this.setSale(data.sale);
        return this.sale;
      },
      saleUrl(id, action = "") {
        return this.config.urls.sale.replace(/\/0\/$/, `/${id}/`) + action;
      },
      setSale(sale) {
        this.sale = sale;
        if (sale.status === "paid") this.showReceipt();
      },
      openCash() {
        if (!this.canTender()) return;
        this.cash = { given: "", amount: this.due, key: newKey() };
        this.openDialog("cash", "cashGiven");
      },
      async payCash() {
        if (this.busy) return;
        this.busy = true;
        try {
          const sale = await this.ensureSale();
          const data = await call(this.saleUrl(sale.id, "cash/"), {
            method: "POST", key: this.cash.key,
            body: { amount_tendered: this.cash.given, amount: this.cash.amount },
          });
          this.setSale(data.sale);
          this.closeDialog();
          if (data.sale.status !== "paid") this.info(`Cash taken. Still due: ${this.money(data.sale.balance_due)}.`);
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      async voidSale() {
        if (!this.sale || this.busy) return;
        this.busy = true;
        try {
          const data = await call(this.saleUrl(this.sale.id, "cancel/"), { method: "POST", body: {} });
          this.info(`Sale ${data.sale.receipt_number} voided; its stock is back. The cart can be changed again.`);
          this.sale = null;
          this.cartKey = newKey();
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
          this.focusScanner();
        }
      },

      // ---- receipt, new sale ------------------------------------------------------------------------------
      async showReceipt() {
        this.dialog = null;
        this.message = null;
        if (this.sale.receipt_url) {
          try {
            const response = await fetch(this.sale.receipt_url, { credentials: "same-origin" });
            this.receiptHtml = response.ok ? await response.text() : "";
          } catch (err) {
            this.fail("The receipt could not be loaded; use the PDF link.");
          }
        }
        this.focusScanner();
      },
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
        this.receiptHtml = "";
        this.message = null;
        this.cartKey = newKey();
        this.focusScanner();
      },
    };
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("checkout", checkout);
  });
})();
