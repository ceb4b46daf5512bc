/* The till's Lipa na M-Pesa panel (pos/c2b): the customer pays the shop's till or paybill from their own
 * phone while the sale waits.
 *
 * An Alpine component nested in the checkout page's `checkout` component (templates/checkout/_c2b.html):
 * it reads the page's `sale`, `stage`, `lines`, `busy`, `dialog` and uses its `refreshSale()`, `setSale()`,
 * `cartBody()`, `money()`, `info()`, `fail()` and `focusScanner()` (and `ensureSale()` when the page has one).
 * Alt+M ("M-Pesa from the customer's phone") confirms the cart as a sale waiting for payment. Every server call
 * goes through pos/static/pos/api.js. While the sale waits it polls POST /api/c2b/till/<sale>/ every POLL_MS
 * (a POST: it may write a match; the GET of the same URL only reads): the server matches what it can prove
 * (the account number is the sale's reference, or the only waiting sale of that amount) and answers the money
 * matched and the money arriving unmatched; the cashier can also pick a payment from the list or type the code
 * from the SMS.
 */
(function () {
  "use strict";

  const POLL_MS = 2000;
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => values[k]));
  const say = (text, values) => interpolate(gettext(text), values, true);

  function c2bPanel() {
    return {
      c2b: { view: null, code: "", timer: null, busy: false, seen: {}, error: "", refused: "" },

      init() {
        this.c2b.timer = setInterval(() => this.c2bPoll(), POLL_MS);
        this.$watch("sale", () => this.c2bPoll());
        this.c2bPoll();
      },
      destroy() {
        clearInterval(this.c2b.timer);
      },
      c2bUrl(action = "") {
        return this.$root.dataset.tillUrl.replace(/\/0\/$/, `/${this.sale.id}/`) + action;
      },
      get c2bWaiting() {
        return Boolean(this.sale && this.sale.status === "pending_payment");
      },
      async c2bStart() {
        // "The customer pays from their phone": confirm the sale so it has its reference and waits.
        if (this.busy || this.c2b.busy) return;
        if (typeof this.canTender === "function" && !this.canTender()) return;
        this.c2b.busy = true;
        try {
          await this.c2bConfirm();
          await this.c2bPoll();
          const due = this.money(this.c2b.view ? this.c2b.view.sale.due : this.sale.balance_due);
          this.info(say("Ask the customer to pay %(amount)s by M-Pesa: the payment appears here by itself.",
            { amount: due }));
        } catch (err) {
          this.fail(err.message);
        } finally {
          this.c2b.busy = false;
        }
      },
      async c2bConfirm() {
        // The page's own way to confirm the cart as a sale waiting for payment when it has one; else POST the
        // cart to the page's sales URL with the cart's Idempotency-Key (a retry answers the same sale).
        if (typeof this.ensureSale === "function") return this.ensureSale();
        if (this.sale) return this.sale;
        const data = await window.posApi.api("POST", `${this.config.urls.sales}?receipt=1`, this.cartBody(),
          { idempotencyKey: this.cartKey });
        this.setSale(data && data.sale ? data.sale : data);
        return this.sale;
      },
      async c2bPoll() {
        if (!this.c2bWaiting) {
          this.c2b.view = null;
          return;
        }
        const saleId = this.sale.id;
        let view;
        try {
          view = await window.posApi.api("POST", this.c2bUrl(), null, { timeoutMs: 8000 });
        } catch (err) {
          this.c2b.error = err.network ? gettext("M-Pesa payments cannot be checked right now (no network).")
            : err.message;
          return;
        }
        if (!this.sale || this.sale.id !== saleId) return;
        this.c2b.error = "";
        await this.c2bTake(view);
      },
      async c2bTake(view) {
        this.c2b.view = view;
        const fresh = view.matched.filter((m) => !this.c2b.seen[m.trans_id]);
        fresh.forEach((m) => { this.c2b.seen[m.trans_id] = true; });
        if (view.sale.due !== this.sale.balance_due || view.sale.status !== this.sale.status) {
          // the page shows the sale as the server has it now (paid: the receipt screen)
          await this.refreshSale().catch(() => null);
        }
        if (fresh.length) {
          const what = fresh.map((m) => `${m.trans_id} ${this.money(m.applied)}`).join(", ");
          const left = view.sale.status === "paid" ? "" : ` ${say("Still due: %(due)s.", { due: this.money(view.sale.due) })}`;
          this.info(`${say("M-Pesa payment %(what)s matched.", { what })}${left}`);
        }
      },
      async c2bMatch(body) {
        if (!this.c2bWaiting || this.c2b.busy) return;
        this.c2b.busy = true;
        try {
          const view = await window.posApi.api("POST", this.c2bUrl("match/"), body, { timeoutMs: 10000 });
          this.c2b.code = "";
          this.c2b.refused = "";
          await this.c2bTake(view);
          if (typeof this.focusScanner === "function") this.focusScanner();
        } catch (err) {
          this.c2bRefuse(err.message);
        } finally {
          this.c2b.busy = false;
        }
      },
      c2bRefuse(text) {
        // said in the panel, next to the code being typed (the panel scrolls it into sight): the page's
        // message line is out of sight on a small till's screen (1024x600) once the panel is scrolled to
        this.c2b.refused = text;
      },
      c2bPick(row) {
        return this.c2bMatch({ receipt: row.id });
      },
      c2bMatchCode() {
        const code = this.c2b.code.trim();
        if (!code) {
          this.c2bRefuse(gettext("Type the M-Pesa code from the customer's SMS."));
          return null;
        }
        return this.c2bMatch({ code });
      },
      c2bAge(seconds) {
        if (seconds < 60) return say("%(seconds)s s ago", { seconds });
        return say("%(minutes)s min ago", { minutes: Math.floor(seconds / 60) });
      },
    };
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("c2bPanel", c2bPanel);
  });
})();
