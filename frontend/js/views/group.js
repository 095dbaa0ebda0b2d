// The group page, /groups/{name}: runs that belong together (repeats of one spec with other
// seeds, or a sweep's trials). Per metric the members' mean curve with a band (±1 std or
// min–max), the members, and how consistent their final validation metric is.
// Refreshed from GET /api/groups/{name} every couple of seconds while a member still trains.

import { api } from "../api.js";
import { BAND_MODES, drawBands } from "../band_chart.js";
import { plotlyReady } from "../charts.js";
import { COLORS } from "../palette.js";
import { on } from "../state.js";
import { h, runLabel, fmtMetric, metricLabel, fmtReason, FINAL } from "../format.js";

const POLL_MS = 2000;
const MAX_POINTS = 600;

export function groupUrl(name) { return `/groups/${encodeURIComponent(name)}`; }

const VERDICTS = {
  consistent: { sev: "ok", icon: "✔", head: "Consistent",
    advice: "The seed barely moves the result: a difference between two settings larger than this spread is real." },
  variable: { sev: "warning", icon: "▲", head: "Variable",
    advice: "The seed moves the result noticeably: compare settings by their mean over repeats, not by single runs." },
  inconsistent: { sev: "critical", icon: "✖", head: "Inconsistent",
    advice: "The result depends a lot on the seed: a lower learn rate, more data or more epochs usually steady it; until then compare means over several repeats." },
  unknown: { sev: "info", icon: "…", head: "Not known yet",
    advice: "The verdict needs at least two finished members." },
};

/** The charts a group gets: the validation metric the members have, then the losses. */
function chartPlan(metrics) {
  const acc = metrics.val_accuracy ? "accuracy" : metrics.val_rmse ? "rmse" : null;
  const plan = [];
  if (acc) {
    plan.push({ id: acc, title: acc === "accuracy" ? "Validation accuracy" : "Validation RMSE",
      yTitle: acc === "accuracy" ? "Accuracy (%)" : "RMSE", scale: acc === "accuracy" ? 100 : 1,
      series: [{ key: `val_${acc}`, label: `val ${acc === "accuracy" ? "accuracy" : "RMSE"}`, color: COLORS[0] }] });
  }
  plan.push({ id: "loss", title: "Loss", yTitle: "Loss", scale: 1, series: [
    { key: "val_loss", label: "val loss", color: COLORS[0] },
    { key: "train_loss", label: "train loss", color: COLORS[1] },
  ] });
  return plan;
}

export async function mountGroup(main, { name }) {
  let group;
  try {
    group = await api.group(name, { max_points: MAX_POINTS });
  } catch (err) {
    main.replaceChildren(h("div", { class: "page" }, h("h1", {}, `Group ${name}`),
      h("p", { class: "error-text" }, err.message), h("a", { href: "/" }, "Back to the runs")));
    return () => {};
  }
  document.title = `Group ${name} · trainscope`;

  const mode = h("select", { id: "band-mode", "data-testid": "band-mode", "aria-label": "Band" },
    ...Object.entries(BAND_MODES).map(([v, label]) => h("option", { value: v }, label)));
  const logY = h("input", { type: "checkbox", id: "group-log-y", "data-testid": "group-log-y" });
  const subEl = h("div", { class: "sub muted" });
  const verdictEl = h("section", { class: "verdict", "data-testid": "group-verdict", role: "status" });
  const membersEl = h("table", { class: "diff members", "data-testid": "group-members" });
  const compareLink = h("a", { class: "btn", "data-testid": "group-compare" }, "Compare members");
  const chartsEl = h("div", { class: "band-charts" });
  const page = h("div", { class: "page group-page", "data-testid": "group-page", "data-group": name },
    h("header", { class: "run-head" },
      h("div", { class: "title-block" }, h("div", { class: "title-row" }, h("h1", {}, `Group ${name}`)), subEl),
      h("div", { class: "toolbar" }, compareLink)),
    verdictEl,
    h("section", { class: "card charts" },
      h("div", { class: "chart-controls" },
        h("label", { for: "band-mode" }, "Band ", mode),
        h("label", { for: "group-log-y", class: "check" }, logY, " Log loss"),
        h("span", { class: "legend-note muted small" }, "line: the members' mean · shaded: their spread at each iteration")),
      chartsEl),
    h("section", { class: "card" }, h("h2", {}, "Members"), membersEl));
  main.replaceChildren(page);

  const chartEls = new Map(); // plan id → div
  function drawCharts() {
    const plan = chartPlan(group.metrics);
    const wanted = new Set(plan.map((p) => p.id));
    for (const [id, el] of chartEls) if (!wanted.has(id)) { Plotly.purge(el); el.parentElement.remove(); chartEls.delete(id); }
    for (const p of plan) {
      let el = chartEls.get(p.id);
      if (!el) {
        el = h("div", { class: "chart", "data-testid": `group-chart-${p.id}` });
        chartsEl.append(h("div", { class: "band-chart" }, h("h3", { class: "chart-title" }, p.title), el));
        chartEls.set(p.id, el);
      }
      const series = p.series.filter((s) => group.metrics[s.key]).map((s) => ({ ...s, band: group.metrics[s.key] }));
      drawBands(el, series, { mode: mode.value, scale: p.scale, yTitle: p.yTitle,
        logY: p.id === "loss" && logY.checked, uirevision: `${name}-${p.id}` });
    }
  }

  function renderVerdict() {
    const v = group.verdict || { verdict: "unknown", message: "" };
    const words = VERDICTS[v.verdict] || VERDICTS.unknown;
    const finished = group.members.filter((r) => FINAL.has(r.status)).length;
    const total = group.members.length;
    verdictEl.className = `verdict verdict-${words.sev === "ok" ? "passed" : words.sev === "critical" ? "failed" : words.sev} sev-${words.sev}`;
    verdictEl.dataset.verdict = v.verdict;
    verdictEl.replaceChildren(h("span", { class: "verdict-icon", "aria-hidden": "true" }, words.icon),
      h("div", {},
        h("strong", { class: "verdict-head" }, `${words.head}${v.metric ? ` — final ${metricLabel(v.metric)}` : ""}`),
        v.metric && v.mean !== null && v.mean !== undefined
          ? h("p", { "data-testid": "verdict-spread" },
            `${fmtMetric(v.metric, v.mean)} on average, ${v.metric.includes("accuracy") ? `±${(100 * v.std).toFixed(1)} points` : `± ${fmtMetric(v.metric, v.std)}`} (std) over ${Object.keys(v.values || {}).length} finished runs; from ${fmtMetric(v.metric, v.min)} to ${fmtMetric(v.metric, v.max)}.`)
          : null,
        h("p", { class: "muted small" }, words.advice,
          finished < total ? ` ${total - finished} of ${total} members still to finish.` : "")));
  }

  function renderHead() {
    const sweepId = group.sweep_id ?? group.members.find((r) => r.sweep_id)?.sweep_id ?? null;
    const parents = new Set(group.members.map((r) => r.parent_id).filter(Boolean));
    const root = group.members.find((r) => parents.has(r.id));
    subEl.replaceChildren(...[
      `${group.members.length} run${group.members.length === 1 ? "" : "s"}`,
      sweepId ? h("span", {}, " · trials of ", h("a", { href: `/sweeps/${sweepId}`, "data-testid": "group-sweep-link" }, `sweep ${sweepId}`)) : null,
      !sweepId && root ? h("span", {}, " · repeats of ", h("a", { href: `/runs/${root.id}` }, `${runLabel(root)} (#${root.id})`), " with other seeds") : null,
    ].filter(Boolean));
    compareLink.href = `/compare?ids=${group.members.map((r) => r.id).join(",")}`;
  }

  function renderMembers() {
    const v = group.verdict || {};
    const metric = v.metric || (group.metrics.val_accuracy ? "val_accuracy" : group.metrics.val_rmse ? "val_rmse" : "val_loss");
    const others = ["val_loss", "test_accuracy", "test_rmse"].filter((k) => k !== metric
      && group.members.some((r) => r.latest?.[k] !== undefined));
    const head = h("tr", {}, h("th", { scope: "col" }, "Run"), h("th", { scope: "col" }, "Seed"),
      h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "num" }, `Final ${metricLabel(metric)}`),
      ...others.map((k) => h("th", { scope: "col", class: "num" }, metricLabel(k))));
    const rows = group.members.map((r) => h("tr", { "data-run-id": String(r.id), "data-testid": "group-member" },
      h("td", {}, h("a", { href: `/runs/${r.id}` }, runLabel(r)), h("span", { class: "muted small" }, ` #${r.id}`)),
      h("td", { class: "mono" }, String(r.spec?.options?.seed ?? "—")),
      h("td", {}, h("span", { class: `badge status-${r.status}`, title: fmtReason(r) || null }, r.status)),
      h("td", { class: "num mono" }, fmtMetric(metric, r.latest?.[metric])),
      ...others.map((k) => h("td", { class: "num mono" }, fmtMetric(k, r.latest?.[k])))));
    membersEl.replaceChildren(h("thead", {}, head), h("tbody", {}, ...rows));
  }

  function render() {
    page.dataset.members = String(group.members.length);
    renderHead();
    renderVerdict();
    renderMembers();
    drawCharts();
  }

  await plotlyReady();
  render();

  let timer = null;
  let closed = false;
  const live = () => group.members.some((r) => !FINAL.has(r.status));
  async function poll() {
    timer = null;
    try {
      const next = await api.group(name, { max_points: MAX_POINTS });
      if (closed) return;
      group = next;
      render();
      if (!live()) return; // that was the last change
    } catch (err) {
      if (closed) return;
      console.warn("group refresh failed:", err.message); // eslint-disable-line no-console
    }
    if (!closed) timer = setTimeout(poll, POLL_MS);
  }
  if (live()) timer = setTimeout(poll, POLL_MS);
  // A member added later (another Repeat) or one that restarted: the rail's run list says so.
  const offRun = on("run", (r) => {
    if (r.group === name && !timer && !closed) timer = setTimeout(poll, 200);
  });

  mode.addEventListener("change", drawCharts);
  logY.addEventListener("change", drawCharts);
  const offTheme = on("theme", drawCharts);
  return () => {
    closed = true;
    clearTimeout(timer);
    offRun(); offTheme();
    for (const el of chartEls.values()) Plotly.purge(el);
  };
}
