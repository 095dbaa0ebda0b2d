// "Restart with changes" and "Branch from epoch E with changes": the options editor prefilled
// from a run, in one modal dialog. The run page opens it for its run, the sweep page for its
// best trial. Only changed fields are sent: a restart (POST /api/runs/{id}/restart) may change
// anything and starts from scratch; a branch (POST /api/runs/{id}/branch) changes options only
// and goes on from the run's checkpoint at the end of the chosen epoch. Either way the new run
// is a child of this one.

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
    // A run of an entry point: its own options, from its schema.
    if (run.spec?.kind === "script") return openScriptRestart(this.el, run, patch, this.navigate);
    return this.edit(run, patch, {
      label: "Restart with changes",
      title: `Restart ${runLabel(run)} with changes`,
      note: "Prefilled from this run. Changed fields are highlighted; only they are sent. The new run is a child of this one.",
      submit: "Start child run",
      send: (spec) => api.restart(run.id, spec.collectOverrides()),
    });
  }

  /** Open the editor to branch `run` from the end of `epoch`, one of `epochs` (its
   *  branchable_epochs, offered in a picker). Only the options can change at a branch. */
  async openBranch(run, epoch, epochs) {
    const picker = h("select", { "data-testid": "branch-epoch", "aria-label": "Branch from the end of epoch" },
      epochs.map((e) => h("option", { value: String(e) }, `epoch ${e}`)));
    picker.value = String(epoch);
    return this.edit(run, null, {
      label: "Branch with changes",
      title: `Branch ${runLabel(run)} with changes`,
      note: "Goes on from this run's checkpoint at the end of the chosen epoch, with its weights and optimizer state; its curve so far is the new run's history. Only the options can change; changed fields are highlighted.",
      head: h("label", { class: "branch-epoch" }, "From the end of ", picker,
        h("span", { class: "muted small" }, " (epochs with a checkpoint)")),
      submit: "Start branch",
      optionsOnly: true,
      mode: "branch",
      send: (spec) => api.branch(run.id, Number(picker.value), spec.collectOverrides().options || {}),
    });
  }

  /** The editor itself. how: {label, title, note, head?, submit, optionsOnly?, mode?, send(spec)
   *  → the new run}. A refusal is shown at its field and above the buttons. */
  async edit(run, patch, how) {
    const dialog = this.el;
    dialog.setAttribute("aria-label", how.label);
    const [schema, catalog] = await schemaAndCatalog();
    const spec = buildSpecForm(schema, catalog, run.spec, { markChanges: true });
    if (patch) spec.apply(flatten(patch));
    if (how.optionsOnly) {
      // The dataset, the model and the run's name come from the checkpoint: shown, not editable.
      for (const set of spec.el.querySelectorAll("fieldset")) {
        if (!set.querySelector('[data-field^="options."]')) set.disabled = true;
      }
    }
    const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "restart-submit" }, how.submit);
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    cancel.addEventListener("click", () => dialog.close());
    const form = h("form", { class: "run-form", "data-testid": "restart-form", "data-run-id": String(run.id),
      "data-mode": how.mode || "restart", novalidate: true },
    h("header", { class: "dialog-head" }, h("h2", {}, how.title), h("p", { class: "muted small" }, how.note), how.head || null),
    spec.el, h("div", { class: "form-actions" }, submit, cancel));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      formError(form, null);
      submit.disabled = true;
      try {
        const child = await how.send(spec);
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
    if (!dialog.open) dialog.showModal(); // a second click on a chart while it is open: one dialog
  }

  remove() { if (this.el.open) this.el.close(); this.el.remove(); }
}
