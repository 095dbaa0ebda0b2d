// The New run page's "Sweep" panel: the options to vary and how to search them, turned into the
// body of POST /api/sweeps around the spec the form above it describes (its `base`). A row per
// option: which option, how to vary it (a list of values, or a range for random search) and the
// values; then grid or random, trials, trials at once, the target metric and early stopping.

import { h } from "../format.js";

// What a row's kind means, and what its text holds.
const KINDS = {
  values: { label: "values", placeholder: "0.001, 0.01, 0.1", hint: "every value listed" },
  log_uniform: { label: "log-uniform", placeholder: "1e-4, 1e-1", hint: "low, high: drawn on a log scale" },
  uniform: { label: "uniform", placeholder: "0.8, 0.99", hint: "low, high" },
  int_uniform: { label: "integer range", placeholder: "16, 128", hint: "low, high: whole numbers, both included" },
};
const METRICS = ["val_loss", "val_accuracy", "val_rmse", "train_loss", "train_accuracy", "train_rmse"];
// The options people sweep first: offered at the top of the list, the learn rate first.
const FIRST = ["initial_learn_rate", "mini_batch_size", "l2_regularization", "momentum", "max_epochs", "solver"];

/** "0.01, 1e-3, adam" → [0.01, 0.001, "adam"]: numbers where the text is one, else the text. */
export function parseList(text) {
  return text.split(",").map((t) => t.trim()).filter((t) => t !== "").map((t) => {
    if (t === "true" || t === "false") return t === "true";
    const n = Number(t);
    return Number.isFinite(n) ? n : t;
  });
}

export function buildSweepForm(schema, { onStart }) {
  const optionProps = schema.$defs?.TrainingOptions?.properties || {};
  const names = [...FIRST.filter((n) => n in optionProps),
    ...Object.keys(optionProps).filter((n) => !FIRST.includes(n)).sort()];
  const rows = [];
  const list = h("div", { class: "sweep-rows", "data-testid": "sweep-rows" });
  const error = h("div", { class: "form-error", role: "alert", hidden: true, "data-testid": "sweep-error" });

  function addRow(option = "initial_learn_rate", kind = "values", text = "") {
    const id = Math.random().toString(36).slice(2, 7);
    const pick = h("select", { "data-testid": "sweep-option", "aria-label": "Option to vary", id: `sw-o-${id}` },
      names.map((n) => h("option", { value: n }, n)));
    pick.value = option;
    const how = h("select", { "data-testid": "sweep-kind", "aria-label": "How to vary it" },
      Object.entries(KINDS).map(([k, d]) => h("option", { value: k }, d.label)));
    how.value = kind;
    const values = h("input", { type: "text", "data-testid": "sweep-values", "aria-label": "Values",
      autocomplete: "off", spellcheck: "false", value: text });
    const hint = h("span", { class: "hint" });
    const remove = h("button", { type: "button", class: "btn small", "aria-label": "Remove this option",
      "data-testid": "sweep-remove" }, "×");
    const el = h("div", { class: "sweep-row", "data-testid": "sweep-row" }, pick, how, values, remove, hint);
    const row = { el, pick, how, values };
    const describe = () => {
      const d = KINDS[how.value];
      values.placeholder = d.placeholder;
      const prop = optionProps[pick.value] || {};
      const fallback = prop.default === undefined || prop.default === null ? "" : ` · default ${prop.default}`;
      hint.textContent = `${d.hint}${fallback}`;
    };
    for (const input of [pick, how, values]) input.addEventListener("input", () => { describe(); refresh(); clear(); });
    remove.addEventListener("click", () => { rows.splice(rows.indexOf(row), 1); el.remove(); refresh(); });
    describe();
    rows.push(row);
    list.append(el);
    refresh();
    return row;
  }

  const strategy = h("select", { "data-testid": "sweep-strategy", id: "sw-strategy" },
    h("option", { value: "grid" }, "grid: every combination"),
    h("option", { value: "random" }, "random: sample the space"));
  const trials = h("input", { type: "text", inputmode: "numeric", value: "10", "data-testid": "sweep-trials", id: "sw-trials" });
  const parallel = h("input", { type: "text", inputmode: "numeric", value: "2", "data-testid": "sweep-parallel", id: "sw-parallel" });
  const metric = h("select", { "data-testid": "sweep-metric", id: "sw-metric" }, METRICS.map((m) => h("option", { value: m }, m)));
  const earlyStop = h("input", { type: "checkbox", "data-testid": "sweep-early-stop", id: "sw-early" });
  const summary = h("span", { class: "muted small", "data-testid": "sweep-summary" });
  const start = h("button", { type: "button", class: "btn primary", "data-testid": "sweep-start" }, "Start sweep");
  start.addEventListener("click", () => onStart(start));
  const trialsField = h("div", { class: "field" }, h("label", { for: "sw-trials" }, "Trials"), trials);

  function dimension(row) {
    const v = parseList(row.values.value);
    return row.how.value === "values" ? { values: v } : { [row.how.value]: v };
  }

  /** How many runs the sweep starts, as far as the browser can tell. */
  function refresh() {
    const random = strategy.value === "random";
    trialsField.hidden = !random;
    if (!rows.length) { summary.textContent = "Add an option to vary."; return; }
    if (random) { summary.textContent = `${Number(trials.value) || 10} trials drawn with seed 0.`; return; }
    let n = 1;
    for (const r of rows) {
      const v = parseList(r.values.value);
      n *= r.how.value === "values" ? v.length
        : r.how.value === "int_uniform" && v.length === 2 ? Math.max(0, Math.floor(v[1]) - Math.ceil(v[0]) + 1) : NaN;
    }
    summary.textContent = Number.isFinite(n) ? `${n} run${n === 1 ? "" : "s"}, ${Number(parallel.value) || 2} at a time.`
      : "A range needs random search (or list the values).";
  }
  for (const input of [strategy, trials, parallel]) input.addEventListener("input", () => { refresh(); clear(); });

  function clear() { error.hidden = true; error.textContent = ""; for (const r of rows) r.el.classList.remove("invalid"); }

  const el = h("details", { class: "sweep-form card", "data-testid": "sweep-form" },
    h("summary", {}, h("strong", {}, "Sweep"), h("span", { class: "muted small" },
      " — run this spec over several values of some options, a few trials at a time")),
    h("p", { class: "muted small" }, "Each trial is the spec above with one combination of these values. Runs are checked before the first starts: a value an option does not take is named here."),
    list,
    h("div", { class: "sweep-actions" },
      h("button", { type: "button", class: "btn", "data-testid": "sweep-add", onclick: () => addRow(names.find((n) => !rows.some((r) => r.pick.value === n)) || names[0]) }, "+ Option")),
    h("div", { class: "grid" },
      h("div", { class: "field" }, h("label", { for: "sw-strategy" }, "Search"), strategy),
      trialsField,
      h("div", { class: "field" }, h("label", { for: "sw-parallel" }, "Trials at once"), parallel),
      h("div", { class: "field" }, h("label", { for: "sw-metric" }, "Rank trials by"), metric),
      h("div", { class: "field check" }, h("label", { for: "sw-early" }, earlyStop, "Stop trials clearly behind (median rule)"))),
    h("div", { class: "sweep-actions" }, start, summary), error);
  addRow("initial_learn_rate", "values", "0.003, 0.01, 0.03");

  return {
    el,
    /** The POST /api/sweeps body around `base` (the New run form's spec). */
    body(base) {
      const space = {};
      for (const r of rows) space[r.pick.value] = dimension(r);
      const out = { name: base.name || null, base, strategy: strategy.value, space, metric: metric.value };
      if (strategy.value === "random") out.trials = Number(trials.value);
      if (parallel.value.trim()) out.max_parallel = Number(parallel.value);
      if (earlyStop.checked) out.early_stop = { rule: "median" };
      return out;
    },
    /** The server's 422: the rows it names marked, its message shown. Returns nothing. */
    showError(message, detail) {
      error.hidden = false;
      error.textContent = message;
      for (const d of Array.isArray(detail) ? detail : []) {
        const loc = (d.loc || []).map(String);
        const at = loc.indexOf("space");
        if (at >= 0) rows.find((r) => r.pick.value === loc[at + 1])?.el.classList.add("invalid");
      }
      el.open = true;
    },
    clear,
  };
}
