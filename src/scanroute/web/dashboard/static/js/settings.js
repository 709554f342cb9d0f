/* scanroute dashboard: settings — show a new API key once, and set exchange rates (PUT). */
(function () {
  "use strict";
  if (!window.SR) return;
  const keyForm = document.getElementById("key-form");
  if (keyForm) keyForm.addEventListener("key-created", (ev) => {
    const box = document.getElementById("new-key");
    document.getElementById("new-key-value").textContent = ev.detail.key;
    box.hidden = false;
    keyForm.reset();
    document.getElementById("new-key-copy").focus();
  });
  const copy = document.getElementById("new-key-copy");
  if (copy) copy.addEventListener("click", async () => {
    const value = document.getElementById("new-key-value").textContent;
    try { await navigator.clipboard.writeText(value); SR.toast("Key copied"); }
    catch (e) { window.getSelection().selectAllChildren(document.getElementById("new-key-value")); SR.toast("Press Ctrl+C to copy the selected key"); }
  });
  const rateForm = document.getElementById("rate-form");
  if (rateForm) rateForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    SR.clearErrors(rateForm);
    const currency = rateForm.elements.currency.value.trim().toUpperCase();
    SR.busy(rateForm, true);
    try {
      if (!/^[A-Z]{3}$/.test(currency)) throw new SR.ApiError(422, { title: "Invalid input", errors: [{ field: "currency", reason: "must be a three-letter code such as EUR" }] });
      await SR.api("PUT", "/api/v1/fx-rates/" + currency, { rate: rateForm.elements.rate.value.trim() });
      sessionStorage.setItem("sr-toast", "Rate of " + currency + " saved");
      location.reload();
    } catch (err) {
      if (err instanceof SR.ApiError) SR.showErrors(rateForm, err); else SR.toast(String(err), true);
    } finally {
      SR.busy(rateForm, false);
    }
  });
})();
