// The sweep page, /sweeps/{id}: progress and the best trial so far, Stop, a sortable table of the
// trials, parallel coordinates of the options that vary against the target metric, every
// trial's validation curve coloured by that metric, and "Restart best with changes".
// Live: GET /api/sweeps/{id} every 1.5 s while it runs (one small query); a trial's points are
// fetched again only when its iteration count moved, at most every few seconds.

import { api } from "../api.js";
import { plotlyReady } from "../charts.js";
import { ColumnStore } from "../column_store.js";
import { metricScale } from "../color_scale.js";
import { drawParcoords, fmtParam } from "../parcoords.js";
import { drawSweepCurves } from "../sweep_curves.js";
import { TrialTable } from "../trial_table.js";
import { currentTheme, on } from "../state.js";
import { h, fmtMetric, metricLabel, fmtDate, fmtDuration, FINAL } from "../format.js";
import { scriptBase } from "./args_panel.js";
import { groupUrl } from "./group.js";
import { RestartDialog } from "./restart_dialog.js";

const POLL_MS = 1500;
const CURVE_REFRESH_MS = 3000;
const CURVE_POINTS = 400;
const DONE = new Set([...FINAL, "deleted"]);

/** "12 of 20 done · 2 running · 6 pending" */
export function progressWords(s) {
  const c = s.counts || {};
  const done = Object.entries(c).filter(([k]) => DONE.has(k)).reduce((a, [, n]) => a + n, 0);
  const parts = [`${done} of ${s.trials_total} done`];
  for (const k of ["running", "queued", "pending"]) if (c[k]) parts.push(`${c[k]} ${k}`);
  return { done, text: parts.join(" · ") };
}

export function bestWords(s) {
  if (!s.best) return "no trial has a value yet";
  const params = s.varying.map((k) => `${k}=${fmtParam(s.best.params[k])}`).join(", ");
  return `${metricLabel(s.metric)} ${fmtMetric(s.metric, s.best.value)} · trial ${s.best.index + 1}${params ? ` (${params})` : ""}`;
}

function earlyStopWords(es) {
  if (!es) return "off";
  return `${es.rule} rule: after ${Math.round(100 * (es.grace_fraction ?? 0.25))}% of its iterations, a trial worse than the median of at least ${es.min_trials ?? 3} others at the same point is stopped`;
}

export async function mountSweep(main, { id, navigate }) {
  let sweep;
  try {
    sweep = await api.sweep(id);
  } catch (err) {
    main.replaceChildren(h("div", { class: "page" }, h("h1", {}, `Sweep ${id}`),
      h("p", { class: "error-text" }, err.message), h("a", { href: "/sweeps" }, "All sweeps")));
    return () => {};
  }

  const titleEl = h("h1", {});
  const statusEl = h("span", { class: "badge big", "data-testid": "sweep-status" });
  const subEl = h("div", { class: "sub muted" });
  const progressEl = h("span", { "data-testid": "sweep-progress" });
  const barFill = h("span", { class: "run-bar-fill" });
  const bestEl = h("span", { "data-testid": "sweep-best" });
  const stopBtn = h("button", { type: "button", class: "btn danger-outline", "data-testid": "sweep-stop",
    title: "No more trials; the queued and running ones are stopped" }, "■ Stop sweep");
  const restartBtn = h("button", { type: "button", class: "btn primary", "data-testid": "restart-best",
    title: "Open the best trial's options in the editor: change some, start a child run" }, "↻ Restart best with changes");
  const bestLink = h("a", { class: "btn", "data-testid": "best-run-link" }, "Best run");
  const groupLink = h("a", { class: "btn", "data-testid": "sweep-group-link", href: groupUrl(sweep.group),
    title: "The trials' mean curves with bands" }, "Group page");
  const notice = h("div", { class: "notice", hidden: true, role: "status", "data-testid": "notice" });
  const parcoordsEl = h("div", { class: "chart", "data-testid": "sweep-parcoords" });
  const parcoordsNote = h("p", { class: "muted small" });
  const curvesEl = h("div", { class: "chart", "data-testid": "sweep-curves" });
  const curvesTitle = h("h2", {});
  const table = new TrialTable();
  const settingsEl = h("dl", { class: "info" });

  const page = h("div", { class: "page sweep-page", "data-testid": "sweep-page", "data-sweep-id": String(id) },
    h("header", { class: "run-head" },
      h("div", { class: "title-block" }, h("div", { class: "title-row" }, titleEl, statusEl), subEl),
      h("div", { class: "toolbar", role: "toolbar", "aria-label": "Sweep actions" }, stopBtn, restartBtn, bestLink, groupLink)),
    notice,
    h("section", { class: "card sweep-summary" },
      h("div", { class: "sweep-progress" }, progressEl, h("span", { class: "run-bar" }, barFill)),
      h("p", { class: "sweep-best-line" }, h("strong", {}, "Best so far: "), bestEl)),
    h("div", { class: "sweep-charts" },
      h("section", { class: "card" }, h("h2", {}, "Options against the target"),
        parcoordsNote, parcoordsEl),
      h("section", { class: "card" }, curvesTitle,
        h("p", { class: "muted small" }, "Each trial's curve, coloured by its final target value on the same scale as the parallel coordinates; the best trial thick and labelled. Hover a curve for its options."),
        curvesEl)),
    h("section", { class: "card" }, h("h2", {}, "Trials"),
      h("p", { class: "muted small" }, "Click a column header to sort by it."), h("div", { class: "table-wrap" }, table.el)),
    h("section", { class: "card" }, h("h2", {}, "Settings"), settingsEl));
  main.replaceChildren(page);
  const restartDialog = new RestartDialog(main, navigate);

  /* ---------- drawing ---------- */
  const cols = new Map(); // trial index → columnar metrics of its run
  const fetched = new Map(); // trial index → {iteration, status, at}
  let parcoordsKey = null;
  let curvesKey = null;
  let scale = null;

  function renderHead() {
    titleEl.textContent = sweep.name || `Sweep ${sweep.id}`;
    document.title = `${titleEl.textContent} · trainscope`;
    statusEl.textContent = sweep.status;
    statusEl.className = `badge big status-${sweep.status}`;
    subEl.replaceChildren(`#${sweep.id} · ${sweep.strategy} search · ${sweep.trials_total} trials · ${metricLabel(sweep.metric)} (${sweep.goal}) · at most ${sweep.max_parallel} at once · `,
      h("a", { href: groupUrl(sweep.group) }, `group ${sweep.group}`));
    const p = progressWords(sweep);
    progressEl.textContent = p.text;
    barFill.style.width = `${((100 * p.done) / Math.max(1, sweep.trials_total)).toFixed(1)}%`;
    bestEl.textContent = bestWords(sweep);
    page.dataset.status = sweep.status;
    page.dataset.best = sweep.best ? String(sweep.best.run_id) : "";
    stopBtn.disabled = sweep.status !== "running";
    restartBtn.disabled = !sweep.best?.run_id;
    bestLink.hidden = !sweep.best?.run_id;
    if (sweep.best?.run_id) bestLink.href = `/runs/${sweep.best.run_id}`;
    if (sweep.message && sweep.status !== "running") { notice.hidden = false; notice.textContent = `Sweep ${sweep.status}: ${sweep.message}`; }
    const ended = sweep.ended_at ? `${fmtDate(sweep.ended_at)} (${fmtDuration(sweep.ended_at - sweep.created_at)})` : "—";
    const rows = [["Created", fmtDate(sweep.created_at)], ["Ended", ended],
      ["Space", Object.entries(sweep.space || {}).map(([k, d]) => `${k}: ${Object.entries(d).map(([kind, v]) => `${kind} ${JSON.stringify(v)}`).join(" ")}`).join("; ")],
      ["Seed", sweep.strategy === "random" ? String(sweep.seed) : "— (grid)"],
      ["Early stopping", earlyStopWords(sweep.early_stop)],
      sweep.base?.kind === "script" ? scriptBase(sweep.base)
        : ["Base", `${sweep.base?.dataset?.name ?? "?"} · ${sweep.base?.model?.preset ?? "layers"} · ${sweep.base?.options?.solver ?? ""} · ${sweep.base?.options?.max_epochs ?? "?"} epochs`]];
    settingsEl.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  function drawCharts() {
    scale = metricScale(sweep.trials.map((t) => t.value), sweep.goal, currentTheme());
    const pKey = JSON.stringify([currentTheme(), sweep.trials.map((t) => [t.value, t.params])]);
    if (pKey !== parcoordsKey) {
      parcoordsKey = pKey;
      const n = drawParcoords(parcoordsEl, sweep, scale);
      const missing = sweep.trials.length - n;
      parcoordsNote.textContent = `One line per trial through its value on each axis, coloured by ${metricLabel(sweep.metric)} (bright: better). Hover a line for the trial.${missing ? ` ${missing} trial${missing === 1 ? "" : "s"} without a value yet not drawn.` : ""}`;
    }
    const cKey = JSON.stringify([currentTheme(), sweep.best?.index, sweep.trials.map((t) => [t.value, fetched.get(t.index)?.iteration ?? null])]);
    if (cKey !== curvesKey) {
      curvesKey = cKey;
      const { metric } = drawSweepCurves(curvesEl, sweep, cols, scale);
      curvesTitle.textContent = `${metricLabel(metric)[0].toUpperCase()}${metricLabel(metric).slice(1)} of every trial`;
      curvesEl.dataset.curves = String(cols.size);
    }
  }

  function render() {
    renderHead();
    table.update(sweep);
    drawCharts();
  }

  /** Fetch the points of trials whose run moved since their last fetch. */
  async function refreshCurves() {
    const now = Date.now();
    const due = sweep.trials.filter((t) => {
      if (!t.run_id) return false;
      const f = fetched.get(t.index);
      if (!f) return true;
      if (f.run_id !== t.run_id) return true;
      if (f.iteration === t.iteration && f.status === t.status) return false;
      return DONE.has(t.status) || now - f.at >= CURVE_REFRESH_MS; // the final points at once
    });
    await Promise.all(due.map(async (t) => {
      try {
        const c = await api.metrics(t.run_id, { max_points: CURVE_POINTS });
        cols.set(t.index, new ColumnStore(c));
        fetched.set(t.index, { run_id: t.run_id, iteration: t.iteration, status: t.status, at: now });
      } catch { /* deleted meanwhile: the next poll says so */ }
    }));
  }

  await plotlyReady();
  await refreshCurves();
  render();

  /* ---------- live ---------- */
  let closed = false;
  let timer = null;
  const live = () => sweep.status === "running" || sweep.trials.some((t) => !DONE.has(t.status));
  let inflight = false;
  let again = false; // something changed while a poll was in flight
  async function poll() {
    timer = null;
    if (inflight) { again = true; return; }
    inflight = true;
    try {
      const next = await api.sweep(id);
      if (closed) return;
      sweep = next;
      await refreshCurves();
      if (closed) return;
      render();
    } catch (err) {
      if (closed) return;
      console.warn("sweep refresh failed:", err.message); // eslint-disable-line no-console
    } finally { inflight = false; }
    if (!closed && (again || live())) { again = false; timer = setTimeout(poll, POLL_MS); }
  }
  const schedule = (ms = POLL_MS) => { if (!timer && !closed) timer = setTimeout(poll, ms); };
  if (live()) schedule();

  /* ---------- actions ---------- */
  stopBtn.addEventListener("click", async () => {
    stopBtn.disabled = true;
    stopBtn.textContent = "Stopping…";
    try {
      sweep = await api.stopSweep(id);
      render();
    } catch (err) {
      notice.hidden = false;
      notice.textContent = err.message;
    } finally {
      stopBtn.textContent = "■ Stop sweep";
      renderHead();
      clearTimeout(timer); timer = null;
      schedule(200); // the last trials' final status and points
    }
  });
  restartBtn.addEventListener("click", async () => {
    if (!sweep.best?.run_id) return;
    restartBtn.disabled = true;
    try {
      const run = await api.run(sweep.best.run_id);
      await restartDialog.open(run);
    } catch (err) {
      notice.hidden = false;
      notice.textContent = err.message;
    } finally { renderHead(); }
  });

  // The rail's run list hears about a trial's status change first: poll at once.
  const offRun = on("run", (r) => { if (r.sweep_id === id && !closed) { clearTimeout(timer); timer = null; schedule(100); } });
  const offTheme = on("theme", () => { parcoordsKey = null; curvesKey = null; drawCharts(); });
  return () => {
    closed = true;
    clearTimeout(timer);
    offRun(); offTheme();
    restartDialog.remove();
    for (const el of [parcoordsEl, curvesEl]) if (el.data) Plotly.purge(el);
  };
}
