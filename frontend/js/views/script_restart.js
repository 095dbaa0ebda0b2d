// "Restart with changes" for a script run: its entry point's options form prefilled with the
// run's args, changed fields highlighted, only they sent (POST /api/runs/{id}/restart
// {"args": {...}}). A doctor's patch for a script run is {"args": {"lr": 0.01}}: applied as if
// typed. A 422 shows at the option it names.

import { api } from "../api.js";
import { h, runLabel } from "../format.js";
import { buildArgsForm } from "./entrypoint_form.js";
import { entrypointOf } from "./args_panel.js";

/** Fill `dialog` with the editor for script run `run` and show it. */
export async function openScriptRestart(dialog, run, patch, navigate) {
  const ep = await entrypointOf(run).catch(() => null);
  const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
  cancel.addEventListener("click", () => dialog.close());
  if (!ep) {
    dialog.replaceChildren(h("h2", {}, `Restart ${runLabel(run)}`),
      h("p", { class: "error-text", role: "alert" }, `The entry point ${run.spec?.entrypoint ?? "?"} is no longer registered on this server: it cannot be restarted.`),
      h("div", { class: "form-actions" }, cancel));
    dialog.showModal();
    return;
  }
  const argsForm = buildArgsForm(ep, run.spec?.args || {}, { markChanges: true });
  if (patch?.args) argsForm.apply(patch.args);
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "restart-submit" }, "Start child run");
  const error = h("div", { class: "form-error", "data-testid": "form-error", role: "alert", hidden: true });
  const form = h("form", { class: "run-form", "data-testid": "restart-form", "data-run-id": String(run.id), novalidate: true },
    h("header", { class: "dialog-head" }, h("h2", {}, `Restart ${runLabel(run)} with changes`),
      h("p", { class: "muted small" }, `${ep.name}'s options, prefilled from this run. Changed options are highlighted; only they are sent. The new run is a child of this one.`)),
    argsForm.el, error, h("div", { class: "form-actions" }, submit, cancel));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    argsForm.clearErrors();
    const args = argsForm.collectOverrides();
    submit.disabled = true;
    try {
      const child = await api.restart(run.id, { args });
      dialog.close();
      navigate(`/runs/${child.id}`);
    } catch (err) {
      const unmatched = err.status === 422 ? argsForm.showErrors(err.detail) : [];
      if (err.status !== 422 || unmatched.length) {
        error.hidden = false;
        error.textContent = unmatched.length ? unmatched.join("; ") : err.message;
      }
    } finally { submit.disabled = false; }
  });
  dialog.replaceChildren(form);
  dialog.showModal();
}
