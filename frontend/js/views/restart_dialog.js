// "Restart with changes": the options editor prefilled from a run, in a modal dialog. The run
// page opens it for its run, the sweep page for its best trial. Only changed fields are sent
// (POST /api/runs/{id}/restart); the new run is a child of the one restarted.

import { api } from "../api.js";
import { h, runLabel, flatten } from "../format.js";
import { buildSpecForm } from "./spec_form.js";
import { schemaAndCatalog, formError } from "./new_run.js";
import { openScriptRestart } from "./script_restart.js";

export class RestartDialog {
  /** host: where the <dialog> lives; navigate(url): where a started child run is opened. */
  constructor(host, navigate) {
    this.navigate = navigate;
    this.el = h("dialog", { class: "dialog wide", "aria-label": "Restart with changes" });
    host.append(this.el);
  }

  /** Open the editor for `run` (its JSON), with `patch` (a partial spec) already applied. */
  async open(run, patch = null) {
    const dialog = this.el;
    // A run of an entry point: its own options, from its schema.
    if (run.spec?.kind === "script") return openScriptRestart(dialog, run, patch, this.navigate);
    const [schema, catalog] = await schemaAndCatalog();
    const spec = buildSpecForm(schema, catalog, run.spec, { markChanges: true });
    if (patch) spec.apply(flatten(patch));
    const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "restart-submit" }, "Start child run");
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    cancel.addEventListener("click", () => dialog.close());
    const form = h("form", { class: "run-form", "data-testid": "restart-form", "data-run-id": String(run.id), novalidate: true },
      h("header", { class: "dialog-head" }, h("h2", {}, `Restart ${runLabel(run)} with changes`),
        h("p", { class: "muted small" }, "Prefilled from this run. Changed fields are highlighted; only they are sent. The new run is a child of this one.")),
      spec.el, h("div", { class: "form-actions" }, submit, cancel));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      formError(form, null);
      submit.disabled = true;
      try {
        const child = await api.restart(run.id, spec.collectOverrides());
        dialog.close();
        this.navigate(`/runs/${child.id}`);
      } catch (err) {
        if (err.status === 422) {
          const unmatched = spec.showErrors(err.detail);
          formError(form, unmatched.length ? unmatched.join("; ") : err.message);
        } else formError(form, err.message);
      } finally { submit.disabled = false; }
    });
    dialog.replaceChildren(form);
    dialog.showModal();
  }

  remove() { if (this.el.open) this.el.close(); this.el.remove(); }
}
