/* The till's quick keys: a row of favourite products (produce, bread, goods without a barcode) that the
 * managers choose and order in the admin (Till setup > Quick keys). Read once from the REST API
 * (GET /api/products/quick-keys/ through posApi); a touch or a click adds the product, and so do
 * Alt+1 ... Alt+9 for the first nine tiles. The checkout page adds it to the cart on "pos:add-product".
 * Also: the language switch of the till's header.
 */
(function () {
  "use strict";

  function quickKeys() {
    return {
      keys: [],
      failed: false,
      async init() {
        try {
          this.keys = await window.posApi.api("GET", "/api/products/quick-keys/", null, { timeoutMs: 8000 });
        } catch (err) {
          this.failed = true;  // the till works without them (scanner and search)
        }
        window.addEventListener("keydown", (event) => {
          if (!event.altKey || event.ctrlKey || event.metaKey) return;
          const n = Number(event.key);
          if (n >= 1 && n <= 9 && this.keys[n - 1]) {
            event.preventDefault();
            this.press(this.keys[n - 1]);
          }
        });
      },
      press(key) {
        window.dispatchEvent(new CustomEvent("pos:add-product", { detail: { product: key.product } }));
      },
      shortcut(n) {
        return n < 9 ? `Alt+${n + 1}` : "";
      },
    };
  }

  document.addEventListener("alpine:init", () => window.Alpine.data("quickKeys", quickKeys));

  // the till's language switch (English / Kiswahili): choosing posts its form (no inline handlers: CSP)
  document.addEventListener("change", (event) => {
    if (event.target && event.target.id === "co-language") event.target.form.submit();
  });
})();
