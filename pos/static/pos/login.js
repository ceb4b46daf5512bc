/* The login page: the cursor waits in the username box (or the password box once a username is there),
 * so a cashier types at once. The HTML autofocus is lost while the admin's scripts start; try for a second. */
(function () {
  "use strict";

  function focusLogin(tries) {
    const user = document.getElementById("id_username");
    const password = document.getElementById("id_password");
    const target = user && user.value && password ? password : user;
    if (!target) return;
    if (document.activeElement !== target && (!document.activeElement || document.activeElement === document.body)) {
      target.focus();
    }
    if (tries > 0 && document.activeElement !== target) setTimeout(() => focusLogin(tries - 1), 50);
  }

  document.addEventListener("DOMContentLoaded", () => focusLogin(20));
  window.addEventListener("load", () => focusLogin(20));
})();
