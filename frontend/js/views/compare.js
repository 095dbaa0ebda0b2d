// Compare: runs' curves overlaid, and a table of only the spec fields that differ.

import { api } from "../api.js";
import { drawCompare, plotlyReady } from "../charts.js";
import { ColumnStore } from "../column_store.js";
import { seriesColor } from "../palette.js";
import { on } from "../state.js";
import { h, runLabel, flatten, fmtValue } from "../format.js";
import { fmtConfigValue, isExternal, mirroredOptions } from "../external.js";
import { isScriptRun } from "./args_panel.js";
import { argText } from "./entrypoint_form.js";

export async function mountCompare(main, { query }) {
  const ids = (query.get("ids") || "").split(",").map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0);
  const chartEl = h("div", { class: "chart", "data-testid": "compare-chart" });
  const table = h("table", { class: "diff", "data-testid": "diff-table" });
  const xAxis = h("select", { "aria-label": "X axis", id: "cmp-x" },
    h("option", { value: "iteration" }, "Iteration"), h("option", { value: "epoch" }, "Epoch"),
    h("option", { value: "time" }, "Time"));
  const status = h("p", { class: "muted" }, ids.length ? "Loading…" : "Select runs in the list on the left and press Compare.");
  const page = h("div", { class: "page compare-page", "data-testid": "compare-page" },
    h("header", { class: "page-head" }, h("h1", {}, "Compare runs"), status),
    h("section", { class: "card" },
      h("div", { class: "chart-controls" }, h("label", { for: "cmp-x" }, "X axis ", xAxis),
        h("span", { class: "muted small" }, "Colours identify runs; solid lines are smoothed training curves, dashed validation.")),
      chartEl),
    h("section", { class: "card" }, h("h2", {}, "What differs"), table));
  main.replaceChildren(page);
  document.title = "Compare · trainscope";
  if (!ids.length) return () => {};

  const results = await Promise.allSettled(ids.map(async (id) => {
    const run = await api.run(id);
    const cols = await api.metrics(id, { max_points: 3000 });
    return { run, cols };
  }));
  const ok = [];
  const failed = [];
  results.forEach((r, i) => (r.status === "fulfilled" ? ok.push(r.value) : failed.push(`run ${ids[i]}: ${r.reason.message}`)));
  status.textContent = `${ok.length} run${ok.length === 1 ? "" : "s"}${failed.length ? ` · could not load ${failed.join(", ")}` : ""}`;

  const series = ok.map(({ run, cols }, i) => ({
    label: `${runLabel(run)}${run.name ? ` (#${run.id})` : ""}`, color: seriesColor(i), cols: new ColumnStore(cols),
    task: run.info?.task, ipe: run.progress?.iterations_per_epoch,
  }));
  const draw = () => drawCompare(chartEl, series, { xMode: xAxis.value });
  await plotlyReady();
  draw();
  xAxis.addEventListener("change", draw);

  // The diff table: spec fields (a script's config, dataset, model, options, kind, group, tags)
  // whose values differ. A script's run has only the options its config named (the rest of its
  // spec.options are defaults it never said): when every run is a script's, its config says
  // those already, in the script's own words, and the options are left out.
  // A run of an entry point has its args (the script's own options, as args.lr ...) and no
  // dataset, model or training options of trainscope's.
  const allScripts = ok.length > 0 && ok.every(({ run }) => isExternal(run) || isScriptRun(run));
  const flat = ok.map(({ run }) => {
    const external = isExternal(run);
    const options = allScripts || isScriptRun(run) ? {} : external ? mirroredOptions(run) : run.spec.options;
    const f = flatten({ config: run.spec.config || {}, args: run.spec.args || {}, dataset: run.spec.dataset,
      model: run.spec.model, options });
    if (isScriptRun(run)) f.entrypoint = run.spec.entrypoint;
    f.kind = run.spec.kind || "train";
    f.group = run.group ?? null;
    f.tags = run.tags?.length ? run.tags.join(", ") : null;
    return f;
  });
  // Beside a script's run, an engine run's options, dataset and model fields the script never
  // stated cannot be compared: only the dataset's name and the model's preset stay.
  const scripts = flat.filter((_, i) => isExternal(ok[i].run) || isScriptRun(ok[i].run));
  const comparable = (k) => !scripts.length || allScripts || !/^(options|dataset|model)\./.test(k)
    || k === "dataset.name" || k === "model.preset" || scripts.every((f) => k in f);
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter(comparable);
  const PREFIXES = ["args.", "config.", "options.", "dataset.", "model."];
  const order = (k) => { const i = PREFIXES.findIndex((p) => k.startsWith(p)); return i < 0 ? PREFIXES.length : i; };
  // Keys in the order first seen (a config's own order), grouped by prefix.
  const differing = keys.filter((k) => new Set(flat.map((f) => JSON.stringify(f[k] ?? null))).size > 1)
    .sort((a, b) => order(a) - order(b) || (order(a) <= 1 ? 0 : a.localeCompare(b)));
  const cell = (k, v) => {
    if (v === undefined) return h("td", { class: "mono muted", title: "not in this run's spec" }, "—");
    return h("td", { class: "mono" }, k.startsWith("config.") ? fmtConfigValue(v) : k.startsWith("args.") ? argText(v) : fmtValue(v));
  };
  const head = h("tr", {}, h("th", { scope: "col" }, "Field"), ...ok.map(({ run }, i) =>
    h("th", { scope: "col" }, h("span", { class: "swatch", style: { background: series[i].color } }),
      h("a", { href: `/runs/${run.id}` }, series[i].label),
      isExternal(run) ? h("span", { class: "badge kind-script", "data-testid": "script-badge" }, "script") : null,
      isScriptRun(run) ? h("span", { class: "badge kind-script", "data-testid": "script-badge" }, run.spec.entrypoint) : null)));
  const rows = differing.map((k) => h("tr", { "data-option": k }, h("th", { scope: "row", class: "mono" }, k),
    ...flat.map((f) => cell(k, f[k]))));
  const outcome = h("tr", { class: "outcome" }, h("th", { scope: "row" }, "result"),
    ...ok.map(({ run }) => {
      const acc = run.best?.val_accuracy;
      const txt = acc !== undefined && acc !== null ? `best val acc ${(Number(acc) * 100).toFixed(1)}%`
        : run.best?.val_loss !== undefined ? `best val loss ${fmtValue(run.best.val_loss)}` : "";
      return h("td", {}, h("span", { class: `badge status-${run.status}` }, run.status), " ", txt);
    }));
  table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...rows, outcome));
  if (scripts.length && !allScripts) {
    table.after(h("p", { class: "muted small", "data-testid": "diff-scripts-note" },
      "A script's run states only the options its config named: the others, and the engine runs' dataset and model details, are left out."));
  }
  if (!differing.length) {
    table.after(h("p", { class: "muted" }, ok.length > 1 ? "The runs' specs are identical (repeats: any difference is noise)." : "Select two or more runs to see what differs."));
  }
  const off = on("theme", draw);
  return () => { off(); if (chartEl.data) Plotly.purge(chartEl); };
}
