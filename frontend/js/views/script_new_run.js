// The New run page's choice of what to run: trainscope's engine (the spec form) or one of the
// entry points the operator registered (their options form, generated from the schema). A
// script run is POST /api/runs {"entrypoint", "args", "name"?, "tags"?, "group"?}; a 422 shows
// at the option it names. /runs/new?entrypoint=NAME opens with that entry point chosen.

import { api } from "../api.js";
import { h } from "../format.js";
import { buildArgsForm } from "./entrypoint_form.js";

export const ENGINE = "";

/** What an entry point lacks, in words ("no seed option: Repeat is not offered"). */
export function supportNotes(ep) {
  const notes = [];
  if (!ep.roles?.seed) notes.push("no seed option: repeats with other seeds are not offered");
  if (!ep.supports?.resume) notes.push("no resume option: a stopped run cannot be resumed");
  if (!ep.roles?.max_epochs) notes.push("no epochs option: progress shows no end");
  return notes;
}

/**
 * The chooser and the script form, mounted above the engine form. `engineParts`: the engine
 * form's elements, hidden while an entry point is chosen. Returns {el} or null when the
 * server has no entry points.
 */
export async function mountScriptChoice({ query, navigate, engineParts }) {
  let eps;
  try { eps = await api.entrypoints(); } catch { eps = []; }
  if (!Array.isArray(eps) || !eps.length) return null;
  const select = h("select", { id: "run-source", "data-testid": "run-source" },
    h("option", { value: ENGINE }, "trainscope's engine: a dataset and a model"),
    ...eps.map((ep) => h("option", { value: ep.name }, `${ep.name} (your ${ep.kind})`)));
  const holder = h("div", { class: "script-run", "data-testid": "script-run" });
  const el = h("section", { class: "card run-source" },
    h("label", { for: "run-source", class: "source-label" }, "What to run ", select),
    holder);

  function formError(form, message) {
    let box = form.querySelector("[data-testid=form-error]");
    if (!message) { box?.remove(); return; }
    if (!box) {
      box = h("div", { class: "form-error", "data-testid": "form-error", role: "alert" });
      form.querySelector(".form-actions").before(box);
    }
    box.textContent = message;
  }

  function show(name) {
    const ep = eps.find((e) => e.name === name);
    for (const part of engineParts) part.hidden = Boolean(ep);
    if (!ep) { holder.replaceChildren(); return; }
    const argsForm = buildArgsForm(ep);
    const runName = h("input", { type: "text", id: "script-name", "data-field": "name", placeholder: "optional", autocomplete: "off" });
    const tags = h("input", { type: "text", id: "script-tags", "data-field": "tags", placeholder: "comma-separated", autocomplete: "off" });
    const submit = h("button", { type: "submit", class: "btn primary big", "data-testid": "start-run" }, `Start ${ep.name}`);
    const notes = supportNotes(ep);
    const form = h("form", { class: "run-form", "data-testid": "script-form", "data-entrypoint": ep.name, novalidate: true },
      h("p", { class: "muted" }, `${ep.kind === "script" ? "A script" : "A function"} the server's operator registered`,
        ep.schema?.description ? `: ${ep.schema.description}` : "",
        ". Its options come from its own ", ep.kind === "script" ? "argparse parser" : "pydantic model",
        "; the changed ones are passed to it, the rest keep their defaults."),
      notes.length ? h("p", { class: "muted small", "data-testid": "support-notes" }, `Note: ${notes.join("; ")}.`) : null,
      h("div", { class: "grid run-meta" },
        h("div", { class: "field" }, h("label", { for: "script-name" }, h("span", { class: "label-text" }, "Run name")), runName),
        h("div", { class: "field" }, h("label", { for: "script-tags" }, h("span", { class: "label-text" }, "Tags")), tags)),
      argsForm.el,
      h("div", { class: "form-actions" }, submit));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      formError(form, null);
      argsForm.clearErrors();
      submit.disabled = true;
      const label = submit.textContent;
      submit.textContent = "Starting…";
      try {
        const body = { entrypoint: ep.name, args: argsForm.collect() };
        if (runName.value.trim()) body.name = runName.value.trim();
        const t = tags.value.split(",").map((s) => s.trim()).filter(Boolean);
        if (t.length) body.tags = t;
        const run = await api.create(body);
        navigate(`/runs/${run.id}`);
      } catch (err) {
        if (err.status === 422) {
          const unmatched = argsForm.showErrors(err.detail);
          const n = Array.isArray(err.detail) ? err.detail.length : 0;
          formError(form, unmatched.length ? unmatched.join("; ")
            : `${n} problem${n === 1 ? "" : "s"}: see the highlighted option${n === 1 ? "" : "s"}.`);
        } else formError(form, err.message);
      } finally {
        submit.disabled = false;
        submit.textContent = label;
      }
    });
    holder.replaceChildren(form);
  }

  select.addEventListener("change", () => {
    const q = new URLSearchParams(location.search);
    if (select.value) q.set("entrypoint", select.value); else q.delete("entrypoint");
    history.replaceState({}, "", `/runs/new${q.toString() ? `?${q}` : ""}`);
    show(select.value);
  });
  const wanted = query.get("entrypoint");
  if (wanted && eps.some((e) => e.name === wanted) && !query.get("from")) select.value = wanted;
  show(select.value);
  return { el };
}
