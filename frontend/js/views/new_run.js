// New run: the generated spec form; POST /api/runs; 422 errors at their fields.

import { api } from "../api.js";
import { h } from "../format.js";
import { buildSpecForm } from "./spec_form.js";

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

export async function mountNewRun(main, { navigate }) {
  main.replaceChildren(h("div", { class: "page" }, h("p", { class: "muted" }, "Loading the form…")));
  const [schema, catalog] = await schemaAndCatalog();
  const spec = buildSpecForm(schema, catalog, null);
  const submit = h("button", { type: "submit", class: "btn primary big", "data-testid": "start-run" }, "Start run");
  const form = h("form", { class: "run-form", "data-testid": "run-form", novalidate: true },
    spec.el,
    h("div", { class: "form-actions" }, submit,
      h("span", { class: "muted small" }, "Only values you change are sent; the rest use the defaults shown.")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formError(form, null);
    spec.clearErrors();
    submit.disabled = true;
    submit.textContent = "Starting…";
    try {
      const run = await api.create(spec.collect());
      navigate(`/runs/${run.id}`);
    } catch (err) {
      if (err.status === 422) {
        const unmatched = spec.showErrors(err.detail);
        const n = Array.isArray(err.detail) ? err.detail.length : 0;
        formError(form, unmatched.length ? unmatched.join("; ")
          : `${n} problem${n === 1 ? "" : "s"}: see the highlighted field${n === 1 ? "" : "s"}.`);
      } else formError(form, err.message);
    } finally {
      submit.disabled = false;
      submit.textContent = "Start run";
    }
  });
  main.replaceChildren(h("div", { class: "page new-run" },
    h("header", { class: "page-head" }, h("h1", {}, "New run"),
      h("p", { class: "muted" }, "Pick a dataset and a model, set the training options, press Start. Each option shows its default, its range and what to do when the curves misbehave.")),
    form));
  document.title = "New run · trainscope";
  return () => {};
}
