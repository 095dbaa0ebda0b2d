// Compare: runs' curves overlaid, and a table of only the spec fields that differ.

import { api } from "../api.js";
import { drawCompare, COLORS, plotlyReady } from "../charts.js";
import { on } from "../state.js";
import { h, runLabel, flatten, fmtValue } from "../format.js";

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
    label: `${runLabel(run)}${run.name ? ` (#${run.id})` : ""}`, color: COLORS[i % COLORS.length], cols,
    task: run.info?.task, ipe: run.progress?.iterations_per_epoch,
  }));
  const draw = () => drawCompare(chartEl, series, { xMode: xAxis.value });
  await plotlyReady();
  draw();
  xAxis.addEventListener("change", draw);

  // The diff table: spec fields (dataset, model, options, group, tags) whose values differ.
  const flat = ok.map(({ run }) => {
    const f = flatten({ dataset: run.spec.dataset, model: run.spec.model, options: run.spec.options });
    f.group = run.group ?? null;
    f.tags = run.tags?.length ? run.tags.join(", ") : null;
    return f;
  });
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const order = (k) => (k.startsWith("options.") ? 0 : k.startsWith("dataset.") ? 1 : k.startsWith("model.") ? 2 : 3);
  const differing = keys.filter((k) => new Set(flat.map((f) => JSON.stringify(f[k] ?? null))).size > 1)
    .sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const head = h("tr", {}, h("th", { scope: "col" }, "Field"), ...ok.map(({ run }, i) =>
    h("th", { scope: "col" }, h("span", { class: "swatch", style: { background: series[i].color } }),
      h("a", { href: `/runs/${run.id}` }, series[i].label))));
  const rows = differing.map((k) => h("tr", { "data-option": k }, h("th", { scope: "row", class: "mono" }, k),
    ...flat.map((f) => h("td", { class: "mono" }, fmtValue(f[k])))));
  const outcome = h("tr", { class: "outcome" }, h("th", { scope: "row" }, "result"),
    ...ok.map(({ run }) => {
      const acc = run.best?.val_accuracy;
      const txt = acc !== undefined && acc !== null ? `best val acc ${(Number(acc) * 100).toFixed(1)}%`
        : run.best?.val_loss !== undefined ? `best val loss ${fmtValue(run.best.val_loss)}` : "";
      return h("td", {}, h("span", { class: `badge status-${run.status}` }, run.status), " ", txt);
    }));
  table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...rows, outcome));
  if (!differing.length) {
    table.after(h("p", { class: "muted" }, ok.length > 1 ? "The runs' specs are identical (repeats: any difference is noise)." : "Select two or more runs to see what differs."));
  }
  const off = on("theme", draw);
  return () => { off(); if (chartEl.data) Plotly.purge(chartEl); };
}
