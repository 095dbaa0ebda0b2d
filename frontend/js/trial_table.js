// A sweep's trials as a table: the options that vary, the final metrics, status and why a trial
// ended. A click on a column header (a button: keyboard-reachable) sorts by it; again, the other
// way. Empty cells sort last either way. The best trial's row is marked.

import { h, fmtMetric, metricLabel, fmtReason } from "./format.js";
import { fmtParam } from "./parcoords.js";

const OTHER_METRICS = ["val_loss", "val_accuracy", "val_rmse", "test_accuracy", "test_rmse"];
const STATUS_ORDER = ["running", "queued", "pending", "completed", "stopped", "diverged", "failed", "interrupted", "deleted"];

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function note(t) {
  if (t.early_stopped) return `early-stopped${t.message ? `: ${t.message}` : ""}`;
  if (t.status === "pending") return "waits for a free slot";
  if (t.status === "deleted") return "its run was deleted";
  if (t.status === "completed" && (!t.finish_reason || t.finish_reason === "max-epochs") && !t.message) return "";
  const reason = fmtReason({ status: t.status, finish_reason: t.finish_reason });
  return [reason, t.message && t.message !== reason ? t.message : null].filter(Boolean).join(" — ");
}

export class TrialTable {
  constructor() {
    this.sort = null; // {col, dir: 1 | -1}
    this.colsKey = null;
    this.sweep = null;
    this.thead = h("thead", {});
    this.tbody = h("tbody", {});
    this.el = h("table", { class: "diff trials", "data-testid": "trial-table" }, this.thead, this.tbody);
  }

  columns(sweep) {
    const m = sweep.metric;
    const num = (get) => (t) => { const v = get(t); return typeof v === "number" && Number.isFinite(v) ? v : null; };
    const cols = [
      { id: "index", label: "Trial", get: (t) => t.index, cls: "trial", show: (t) => [String(t.index + 1),
        t.run_id ? h("a", { href: `/runs/${t.run_id}`, class: "small", title: `run #${t.run_id}` }, `run #${t.run_id}`) : null] },
      ...sweep.varying.map((k) => ({ id: `param:${k}`, label: k, mono: true, get: (t) => {
        const v = t.params[k];
        return v === null || v === undefined ? null : typeof v === "object" ? fmtParam(v) : v;
      }, show: (t) => fmtParam(t.params[k]) })),
      { id: `metric:${m}`, label: `${metricLabel(m)} (target)`, title: `The target metric (${sweep.goal}); sort by it`,
        cls: "num target", get: num((t) => t.value), show: (t) => fmtMetric(m, t.value) },
      ...OTHER_METRICS.filter((k) => k !== m && sweep.trials.some((t) => t.final?.[k] !== undefined)).map((k) => ({
        id: `metric:${k}`, label: metricLabel(k), cls: "num", get: num((t) => t.final?.[k]), show: (t) => fmtMetric(k, t.final?.[k]) })),
      { id: "status", label: "Status", get: (t) => STATUS_ORDER.indexOf(t.status),
        show: (t) => h("span", { class: `badge status-${t.status}${t.early_stopped ? " early" : ""}` }, t.early_stopped ? "early-stopped" : t.status) },
      sweep.trials.some((t) => !["completed", "pending", "deleted"].includes(t.status)) && { id: "progress", label: "Iterations", cls: "num", get: (t) => (t.run_id ? t.iteration : null),
        show: (t) => (t.run_id ? `${t.iteration}${t.max_iterations ? ` / ${t.max_iterations}` : ""}` : "—") },
      sweep.trials.some((t) => note(t)) && { id: "note", label: "Note", cls: "note", get: (t) => note(t) || null, show: (t) => note(t) },
    ];
    return cols.filter(Boolean);
  }

  update(sweep) {
    this.sweep = sweep;
    const cols = this.columns(sweep);
    this.cols = cols;
    if (!this.sort) this.sort = { col: `metric:${sweep.metric}`, dir: sweep.goal === "maximize" ? -1 : 1 };
    const key = cols.map((c) => c.id).join("|");
    if (key !== this.colsKey) {
      this.colsKey = key;
      this.thead.replaceChildren(h("tr", {}, ...cols.map((c) => {
        const btn = h("button", { type: "button", class: "sort", "data-testid": `sort-${c.id}`, "data-sort": c.id, title: c.title || `Sort by ${c.label}` },
          c.label, h("span", { class: "sort-mark", "aria-hidden": "true" }));
        btn.addEventListener("click", () => this.sortBy(c.id));
        return h("th", { scope: "col", class: c.cls || null, "data-col": c.id }, btn);
      })));
    }
    for (const th of this.thead.querySelectorAll("th")) {
      const on = th.dataset.col === this.sort.col;
      th.setAttribute("aria-sort", on ? (this.sort.dir > 0 ? "ascending" : "descending") : "none");
      th.querySelector(".sort-mark").textContent = on ? (this.sort.dir > 0 ? " ▲" : " ▼") : "";
    }
    const col = cols.find((c) => c.id === this.sort.col) || cols[0];
    const rows = [...sweep.trials].sort((a, b) => {
      const va = col.get(a), vb = col.get(b);
      if (va === null && vb === null) return a.index - b.index;
      if (va === null) return 1;
      if (vb === null) return -1;
      return this.sort.dir * compare(va, vb) || a.index - b.index;
    });
    const bestIndex = sweep.best?.index ?? null;
    this.tbody.replaceChildren(...rows.map((t) => h("tr", {
      "data-testid": "trial-row", "data-trial": String(t.index), "data-run-id": t.run_id ? String(t.run_id) : null,
      "data-status": t.status, class: t.index === bestIndex ? "best" : null,
      title: t.index === bestIndex ? "the best trial so far" : null,
    }, ...cols.map((c) => h("td", { class: [c.cls, c.mono ? "mono" : null].filter(Boolean).join(" ") || null },
      c.id === "index" && t.index === bestIndex ? h("span", { class: "best-mark", "aria-label": "best" }, "★ ") : null,
      c.show(t))))));
    for (const td of this.tbody.querySelectorAll("td.note")) td.title = td.textContent;
  }

  sortBy(colId) {
    if (this.sort?.col === colId) this.sort = { col: colId, dir: -this.sort.dir };
    else this.sort = { col: colId, dir: colId.startsWith("metric:") && this.sweep?.goal === "maximize" && colId === `metric:${this.sweep.metric}` ? -1 : 1 };
    if (this.sweep) this.update(this.sweep);
  }
}
