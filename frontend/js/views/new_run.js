// New run: the generated spec form; POST /api/runs; 422 errors at their fields. Besides Start,
// the preflight checks post the same spec with a `kind`. /runs/new?from=ID&options.x=v prefills
// the form from run ID's spec (as an ordinary training run) with those values changed, as the
// restart dialog does (the LR range test's "Use this").

import { api } from "../api.js";
import { h, runLabel } from "../format.js";
import { KINDS, PREFLIGHT, baseName, kindName } from "../run_kinds.js";
import { buildSpecForm } from "./spec_form.js";
import { buildSweepForm } from "./sweep_form.js";
import { mountScriptChoice } from "./script_new_run.js";

let cached = null;
export async function schemaAndCatalog() {
  if (!cached) cached = Promise.all([api.schema(), api.catalog()]).catch((e) => { cached = null; throw e; });
  return cached;
}

function formError(form, message) {
  let box = form.querySelector("[data-testid=form-error]");
  if (!message) { box?.remove(); return; }
  if (!box) {
    box = h("div", { class: "form-error", "data-testid": "form-error", role: "alert" });
    form.querySelector(".form-actions").before(box);
  }
  box.textContent = message;
}

export { formError };

/** The New run page prefilled from run `fromId` with `changes` ({"options.x": v}) made. */
export function newRunUrl(fromId, changes = {}) {
  const q = new URLSearchParams({ from: String(fromId) });
  for (const [k, v] of Object.entries(changes)) q.set(k, String(v));
  return `/runs/new?${q}`;
}

/** ?from=ID: run ID's spec as a train run (its preflight name prefix dropped), and the other
 *  parameters (dotted field paths) as the changes to make to it. */
async function prefill(query) {
  const from = Number(query.get("from"));
  if (!Number.isInteger(from) || from <= 0) return null;
  const run = await api.run(from);
  const spec = { ...run.spec, name: baseName(run.spec.name) };
  delete spec.kind; // an ordinary training run: the form has no kind field, the default is train
  delete spec.lr_range;
  const changes = {};
  for (const [k, v] of query) if (k !== "from") changes[k] = v;
  return { run, spec, changes };
}

export async function mountNewRun(main, { navigate, query = new URLSearchParams() }) {
  main.replaceChildren(h("div", { class: "page" }, h("p", { class: "muted" }, "Loading the form…")));
  let fromError = null;
  const [[schema, catalog], from] = await Promise.all([schemaAndCatalog(),
    prefill(query).catch((err) => { fromError = err; return null; })]);
  const spec = buildSpecForm(schema, catalog, from ? from.spec : null, { markChanges: Boolean(from) });
  if (from) spec.apply(from.changes);
  const submit = h("button", { type: "submit", class: "btn primary big", "data-testid": "start-run" }, "Start run");
  const preflight = PREFLIGHT.map((kind) => {
    const b = h("button", { type: "button", class: "btn", "data-testid": `preflight-${kind}`, title: KINDS[kind].title },
      KINDS[kind].button);
    b.addEventListener("click", () => start(b, kind));
    return b;
  });
  const form = h("form", { class: "run-form", "data-testid": "run-form", novalidate: true },
    spec.el,
    h("div", { class: "form-actions" }, submit,
      h("div", { class: "preflight", role: "group", "aria-labelledby": "preflight-label" },
        h("span", { class: "preflight-label", id: "preflight-label" }, "Preflight"), ...preflight),
      h("span", { class: "muted small" }, "Only values you change are sent; the rest use the defaults shown.")));

  /** POST the form's spec (with `kind` for a preflight check) and open the run's page. */
  async function start(button, kind = null) {
    formError(form, null);
    spec.clearErrors();
    const label = button.textContent;
    const all = [submit, ...preflight];
    for (const b of all) b.disabled = true;
    button.textContent = "Starting…";
    try {
      const body = spec.collect();
      if (kind) { body.kind = kind; body.name = kindName(kind, body); }
      const run = await api.create(body);
      navigate(`/runs/${run.id}`);
    } catch (err) {
      if (err.status === 422) {
        const unmatched = spec.showErrors(err.detail);
        const n = Array.isArray(err.detail) ? err.detail.length : 0;
        formError(form, unmatched.length ? unmatched.join("; ")
          : `${n} problem${n === 1 ? "" : "s"}: see the highlighted field${n === 1 ? "" : "s"}.`);
      } else formError(form, err.message);
    } finally {
      for (const b of all) b.disabled = false;
      button.textContent = label;
    }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); start(submit); });

  /** POST /api/sweeps with the form's spec as the base, and open the sweep's page. The base
   *  is checked with every trial: its field errors show at the fields above, like Start's. */
  const sweep = buildSweepForm(schema, { onStart: async (button) => {
    formError(form, null);
    spec.clearErrors();
    sweep.clear();
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Starting…";
    try {
      const created = await api.createSweep(sweep.body(spec.collect()));
      navigate(`/sweeps/${created.id}`);
    } catch (err) {
      if (err.status === 422 && Array.isArray(err.detail)) {
        // loc ["body", "base", …] is a field of the spec above; the rest belong to the sweep.
        const base = err.detail.filter((d) => d.loc?.[1] === "base")
          .map((d) => ({ ...d, loc: ["body", ...d.loc.slice(2)] }));
        if (base.length) spec.showErrors(base);
        sweep.showError(err.message, err.detail);
      } else sweep.showError(err.message, null);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  } });

  const intro = from
    ? h("p", { class: "muted", "data-testid": "prefilled-from" }, "Prefilled from ",
      h("a", { href: `/runs/${from.run.id}` }, `${runLabel(from.run)} (#${from.run.id})`),
      Object.keys(from.changes).length ? "; the highlighted fields were changed." : ".")
    : fromError ? h("p", { class: "error-text", role: "alert" }, `Could not prefill from run ${query.get("from")}: ${fromError.message}`)
    : h("p", { class: "muted" }, "Pick a dataset and a model, set the training options, press Start. Each option shows its default, its range and what to do when the curves misbehave. Not sure of the learn rate? Run a preflight check first.");
  // The user's own code (registered entry points), when the server has any: a chooser above.
  const choice = await mountScriptChoice({ query, navigate, engineParts: [intro, form, sweep.el] });
  main.replaceChildren(h("div", { class: "page new-run" },
    h("header", { class: "page-head" }, h("h1", {}, "New run"), choice?.el, intro),
    form, sweep.el));
  document.title = "New run · trainscope";
  return () => {};
}
