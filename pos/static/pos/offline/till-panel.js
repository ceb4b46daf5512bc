/* The cashier's offline panel (Alpine component `offlineTill`, template tills/offline_panel.html).
 *
 * Always: the online/offline indicator, the count of unsynced sales and the till's code. When the
 * network is gone (or the cashier chooses "Sell offline") it covers the checkout page and sells from the
 * cached catalogue: scan, search, quantities, discounts within the cashier's limit, cash with change and
 * M-Pesa paid to the till with the code the cashier types. What needs the internet (M-Pesa push, Airtel,
 * card, returns and refunds) is shown greyed with the reason. Every sale goes to the outbox (till.js)
 * before its receipt is shown.
 */
(function () {
  "use strict";

  // Django's JavaScript catalogue (/i18n/catalog.js): the panel speaks the cashier's language.
  const gettext = window.gettext || ((text) => text);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const interpolate = window.interpolate || ((text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => values[k]));
  const say = (text, values) => interpolate(text, values, true);
  const STATES = { pending: gettext("waiting to sync"), synced: gettext("synced"), rejected: gettext("refused"),
                   handed: gettext("handed to a manager") };

  // Scans are looked up in IndexedDB asynchronously but applied in scan order, and a tender key waits for
  // the scans before it, so a fast scanner followed by F4 charges every item. Outside Alpine's reactive
  // data: its proxy breaks Promise methods.
  let scans = Promise.resolve();
  // The online cart this panel carried (checkout.js hands it over): emptied there once its offline sale is
  // recorded or the cashier empties it here; until then a reload carries it again.
  let carried = null;
  // The latest request to move the cursor (focus) and the field it is for. A request still waiting when
  // the cashier puts the cursor in another field (a line's discount right after a scan) is dropped:
  // otherwise it would take the cursor back and what the cashier types next would land in the scanner.
  let focusRequest = 0;
  let focusTarget = null;
  document.addEventListener("focusin", (event) => {
    if (event.target.id !== focusTarget) focusRequest += 1;
  }, true);

  function offlineTill() {
    const till = window.dukaTill;
    return {
      available: Boolean(till),
      online: true, unsynced: 0, rejected: 0, syncing: false, tillCode: "", lastSync: null, numbersLeft: 0,
      catalogueCount: 0, shiftId: null, quickKeys: [], pricing: null,
      active: false,
      lines: [], orderPercent: "0", scanText: "", message: null, dialog: null,
      search: { text: "", results: [], active: 0 },
      cash: { given: "" }, mpesa: { code: "" }, receipt: null, busy: false, outbox: [],

      init() {
        if (!till) return;
        till.subscribe((s) => {
          const wasOnline = this.online;
          this.online = s.online;
          this.unsynced = s.unsynced;
          this.rejected = s.rejected;
          this.syncing = s.syncing;
          this.tillCode = s.till ? s.till.code : "";
          this.lastSync = s.lastSync;
          this.numbersLeft = s.numbersLeft;
          this.catalogueCount = s.catalogueCount;
          this.shiftId = s.shift ? s.shift.id : null;
          this.quickKeys = s.quickKeys || [];
          this.pricing = s.pricing;
          if (s.ready && !s.online && (wasOnline || !this.active)) this.activate();
          this.refreshOutbox();
        });
        window.addEventListener("keydown", (event) => this.onKey(event), true);
      },

      // ---- showing -----------------------------------------------------------------------------------------
      activate() {
        this.active = true;
        document.body.classList.add("till-offline-active");
        this.carryOnlineCart();
        this.focus("till-scan");
      },
      // The cart the cashier was scanning online comes along: same lines, quantities and discounts, priced
      // from this till's catalogue (the server's prices as last synced).
      async carryOnlineCart() {
        if (this.lines.length || this.dialog) return;
        const ask = { cart: null };
        window.dispatchEvent(new CustomEvent("pos:offline-take-cart", { detail: ask }));
        if (!ask.cart) return;
        const lines = [];
        const missing = [];
        for (const line of ask.cart.lines) {
          const product = await till.product(line.product);
          if (!product) {
            missing.push(line.name);
            continue;
          }
          lines.push({
            product: product.id, name: product.name, price: product.price, tax_rate: product.tax_rate,
            unit: product.unit, quantity: String(line.quantity), discount_percent: String(line.discount_percent || "0"),
          });
        }
        if (this.lines.length) return; // the cashier scanned here meanwhile: theirs wins
        carried = ask.cart.clear;
        this.lines = lines;
        this.orderPercent = String(ask.cart.orderPercent || "0");
        if (missing.length) {
          this.fail(interpolate(gettext("Not in this till's catalogue, scan again: %(names)s"), { names: missing.join(", ") }, true));
        }
      },
      releaseCarried() {
        if (carried) carried();
        carried = null;
      },
      leave() {
        if (this.lines.length || !this.online) return;
        window.location.reload();
      },
      get canLeave() {
        return this.online && !this.lines.length && !this.dialog;
      },
      get statusText() {
        if (!this.online) return gettext("Offline");
        return this.syncing ? gettext("Online, syncing") : gettext("Online");
      },
      get rejectedText() {
        return say(gettext("(%(n)s refused by the server, kept here until handed to a manager)"), { n: this.rejected });
      },
      get tillText() {
        return say(gettext("· Till %(code)s"), { code: this.tillCode });
      },
      get syncText() {
        if (!this.unsynced) return gettext("Every offline sale is synced.");
        return say(ngettext("Sending %(n)s sale made offline…", "Sending %(n)s sales made offline…", this.unsynced),
                   { n: this.unsynced });
      },
      get cachedText() {
        return say(ngettext("%(n)s product cached", "%(n)s products cached", this.catalogueCount), { n: this.catalogueCount });
      },
      get numbersText() {
        return say(ngettext("%(n)s offline receipt number left", "%(n)s offline receipt numbers left", this.numbersLeft),
                   { n: this.numbersLeft });
      },
      get lastSyncText() {
        return say(gettext("· last sync %(time)s"), { time: (this.lastSync || "").slice(11, 19) });
      },
      get capText() {
        return say(gettext("(max %(cap)s of the sale, lines and order together)"),
                   { cap: `${this.pricing ? this.pricing.cap_percent : ""}%` });
      },
      label(kind, line) {
        const text = { quantity: gettext("Quantity of %(name)s"), discount: gettext("Discount %% on %(name)s"),
                       remove: gettext("Remove %(name)s") }[kind];
        return say(text, { name: line.name }).replace("%%", "%");
      },
      stateName(state) {
        return STATES[state] || state;
      },
      payName(payment) {
        return payment.method === "cash" ? gettext("Cash") : `M-Pesa ${payment.code}`;
      },
      soldText(receipt) {
        return say(gettext("Sold offline on till %(till)s at %(time)s"), { till: this.tillCode, time: receipt.sold_at });
      },
      focus(id, tries = 40) {
        const request = ++focusRequest;
        focusTarget = id;
        const attempt = (left) => requestAnimationFrame(() => {
          if (request !== focusRequest) return;
          const el = document.getElementById(id);
          if (el && el.offsetParent !== null) el.focus();
          else if (left > 0) attempt(left - 1);
        });
        attempt(tries);
      },
      fail(text) {
        this.message = { kind: "error", text };
      },
      money(value) {
        return `${till.config.currency} ${String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",")}`;
      },
      async refreshOutbox() {
        this.outbox = await till.outboxList(8);
      },

      // ---- keyboard ------------------------------------------------------------------------------------------
      onKey(event) {
        if (!this.active) return;
        const keys = { F2: () => this.openSearch(""), F4: () => this.openCash(), F8: () => this.openMpesa() };
        if (event.key === "Escape" && this.dialog) {
          event.preventDefault();
          event.stopPropagation();
          this.closeDialog();
        } else if (keys[event.key]) {
          event.preventDefault();
          event.stopPropagation();
          if (!this.dialog || this.dialog === "receipt") keys[event.key]();
        } else if (/^F\d+$/.test(event.key)) {
          event.preventDefault();
          event.stopPropagation();
        }
      },

      // ---- cart ----------------------------------------------------------------------------------------------
      get priced() {
        try {
          return till.priceCart(this.lines, { percent: this.orderPercent }, this.pricing);
        } catch (err) {
          return { error: err.message, lines: [], subtotal: 0, discount: 0, tax: 0, rounding: 0, total: 0 };
        }
      },
      lineTotal(i) {
        const line = this.priced.lines[i];
        return line ? this.money(till.money(line.total)) : "…";
      },
      amount(field) {
        return this.money(till.money(this.priced[field] || 0));
      },
      async submitScan() {
        const text = this.scanText.trim();
        this.scanText = "";
        if (this.dialog === "receipt") this.newSale();
        if (!text) return;
        const lookup = till.lookup(text);
        scans = scans.then(async () => {
          const product = await lookup;
          if (product) {
            this.message = null;
            this.add(product);
          } else if (/[a-z]/i.test(text)) {
            this.openSearch(text);
          } else {
            this.fail(say(gettext("Barcode %(code)s is not in this till's catalogue (%(n)s products cached)."),
                          { code: text, n: this.catalogueCount }));
          }
        }).catch((err) => this.fail(err.message));
        await scans;
      },
      add(product) {
        const i = this.lines.findIndex((l) => l.product === product.id);
        if (i >= 0) {
          const units = till.toUnits(this.lines[i].quantity, 3) + 1000;
          this.lines[i].quantity = till.fromUnits(units, 3).replace(/\.?0+$/, "");
        } else {
          this.lines.push({
            product: product.id, name: product.name, price: product.price, tax_rate: product.tax_rate,
            unit: product.unit, quantity: "1", discount_percent: "0",
          });
        }
        if (!this.dialog) this.focus("till-scan");
      },
      async pressKey(key) {
        if (this.dialog === "receipt") this.newSale();
        await scans;
        // today's cached price when the catalogue has it, else what the key carried
        this.add((await till.product(key.product.id)) || key.product);
      },
      remove(i) {
        this.lines.splice(i, 1);
        if (!this.lines.length) this.releaseCarried();
        this.focus("till-scan");
      },

      // ---- search --------------------------------------------------------------------------------------------
      openSearch(text) {
        this.search = { text: text || "", results: [], active: 0 };
        this.dialog = "search";
        this.focus("till-search");
        if (text) this.runSearch();
      },
      async runSearch() {
        const text = this.search.text;
        const results = await till.search(text);
        if (text === this.search.text) {
          this.search.results = results;
          this.search.active = 0;
        }
      },
      pick(product = this.search.results[this.search.active]) {
        if (!product) return;
        this.closeDialog();
        this.add(product);
      },
      moveResult(step) {
        const n = this.search.results.length;
        if (n) this.search.active = (this.search.active + step + n) % n;
      },
      closeDialog() {
        this.dialog = null;
        this.focus("till-scan");
      },

      // ---- tender --------------------------------------------------------------------------------------------
      ready() {
        if (!this.lines.length) {
          this.fail(gettext("Scan a product first."));
          return false;
        }
        if (this.priced.error) {
          this.fail(this.priced.error);
          return false;
        }
        return true;
      },
      async openCash() {
        await scans;
        if (!this.ready()) return;
        this.cash = { given: till.money(this.priced.total) };
        this.dialog = "cash";
        this.focus("till-cash-given");
      },
      get change() {
        const given = till.cents(this.cash.given);
        if (given === null || given < this.priced.total) return null;
        return till.money(given - this.priced.total);
      },
      async openMpesa() {
        await scans;
        if (!this.ready()) return;
        this.mpesa = { code: "" };
        this.dialog = "mpesa";
        this.focus("till-mpesa-code");
      },
      get codeOk() {
        return /^[A-Z0-9]{10}$/.test(this.mpesa.code.trim().toUpperCase());
      },
      async payCash() {
        const given = till.cents(this.cash.given);
        if (given === null || given < this.priced.total) {
          this.fail(say(gettext("Cash given must be at least %(total)s."), { total: this.amount("total") }));
          return;
        }
        await this.record([{ method: "cash", amount: till.money(this.priced.total), amount_tendered: till.money(given) }]);
      },
      async payMpesa() {
        if (!this.codeOk) {
          this.fail(gettext("Type the M-Pesa code from the customer's message: 10 letters and digits."));
          return;
        }
        await this.record([{ method: "mpesa", amount: till.money(this.priced.total), code: this.mpesa.code.trim().toUpperCase() }]);
      },
      async record(payments) {
        if (this.busy) return;
        this.busy = true;
        try {
          const sale = await till.recordSale({ lines: this.lines, orderPercent: this.orderPercent, payments });
          this.receipt = sale; // only now: the sale is in IndexedDB
          this.releaseCarried();
          this.lines = [];
          this.orderPercent = "0";
          this.message = null;
          this.dialog = "receipt";
          this.focus("till-scan");
          if (this.online) till.sync();
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.busy = false;
        }
      },
      printReceipt() {
        window.print();
        this.focus("till-scan");
      },
      newSale() {
        this.receipt = null;
        this.dialog = null;
        this.lines = [];
        this.orderPercent = "0";
        this.focus("till-scan");
      },
      syncNow() {
        till.heartbeat();
      },
    };
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("offlineTill", offlineTill);
  });
})();
