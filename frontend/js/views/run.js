// The run page: fetches the run and its history, builds the page (run_layout.js), draws the
// charts (RunCharts and its plug-ins), follows the run live (RunStream) and merges what comes
// (run_state.js) into the head, the info panel (run_info.js) and the charts. The buttons are
// run_actions.js's.

import { api } from "../api.js";
import { branchesOf, historyWindows, originOf } from "../branching.js";
import { RunStream } from "../live.js";
import { drawConfusion, drawPredictions, rethemeAll } from "../charts.js";
import { emptyColumns } from "../column_store.js";
import { DISPLAY_MAX, RunCharts } from "../run_charts.js";
import { CurveChart, LearnRateChart, LOSS, QUALITY } from "../training_charts.js";
import { on, runs as knownRuns } from "../state.js";
import { h, runLabel, flatten } from "../format.js";
import { LrRangeChart } from "../lr_range.js";
import { KINDS, baseName, runKind } from "../run_kinds.js";
import { UpdateRatioChart } from "../update_ratio_chart.js";
import { OtherMetricsChart } from "../other_metrics_chart.js";
import { isExternal, patchInScript } from "../external.js";
import { DoctorPanel, LrRangeCard, Verdict } from "./doctor.js";
import { newRunUrl } from "./new_run.js";
import { groupUrl } from "./group.js";
import { runLayout, say } from "./run_layout.js";
import { scriptRunParts } from "./script_run.js";
import { infoRows } from "./run_info.js";
import { wireActions } from "./run_actions.js";
import { actionsOf, liveWord, taskOf, withHello, withPoints, withStatus } from "./run_state.js";

export async function mountRun(main, { id, navigate }) {
  const cleanups = [];
  // The run and its history in parallel (and both while Plotly compiles): a run with up to
  // DISPLAY_MAX points comes whole, a longer one downsampled to that many, keeping every
  // bucket's extremes and every NaN; zooming in fetches the detail.
  const history = api.metrics(id, { max_points: DISPLAY_MAX });
  history.catch(() => {}); // awaited below; a failure there is reported on the page
  let run;
  try {
    run = await api.run(id);
  } catch (err) {
    main.replaceChildren(h("div", { class: "page" }, h("h1", {}, `Run ${id}`),
      h("p", { class: "error-text" }, err.message), h("a", { href: "/" }, "Back to the runs")));
    return () => {};
  }

  // A branch's history: its ancestors' points up to each branch point (GET run's `lineage`),
  // fetched while Plotly compiles and drawn lighter before its own.
  const lineage = Promise.all(historyWindows(run.lineage).map(({ runId, epoch, ...window }) =>
    api.metrics(runId, { ...window, max_points: DISPLAY_MAX }).then((body) => ({ runId, epoch, body }))));
  lineage.catch(() => {}); // awaited below

  // A run logged by its own script (the SDK): trainscope cannot restart, resume or repeat it;
  // Stop asks the script, which hears it with its next log.
  const external = isExternal(run);
  // A run of a registered entry point (the user's own code, started by trainscope): its
  // options panel and console; its charts are whatever it logs, like an external run's.
  const script = run.spec?.kind === "script" ? await scriptRunParts(run) : null;
  const ownCode = external || Boolean(script);
  const kind = runKind(run);
  // The LR range test's suggestion is for training: applied, it starts a train run (a child of
  // the test), not another test. The other preflight checks' fixes are checked again.
  // (A suggestion's patch may already say kind "train"; the name still loses its prefix.)
  const restartBody = (patch) => (kind === "lr-range-test"
    ? { kind: "train", name: baseName(run.spec?.name) ?? null, ...patch } : patch);
  const onEdit = (patch) => (kind === "lr-range-test" ? navigate(newRunUrl(id, flatten(patch))) : actions.openRestart(patch));
  const doctor = new DoctorPanel({ runId: id, navigate, onEdit, restartBody,
    inScript: external ? (patch) => patchInScript(run, patch) : null });
  const verdict = KINDS[kind]?.verdict ? new Verdict(kind) : null;
  const lrCard = kind === "lr-range-test" ? new LrRangeCard({ runId: id, navigate }) : null;
  const { page, els } = runLayout(run, { external, script, doctor, verdict, lrCard });
  main.replaceChildren(page);

  /* ---------- the charts ---------- */
  const charts = new RunCharts({ runId: id, fetchDetail: (params) => api.metrics(id, params) });
  const task = () => taskOf(run, charts.store.names());
  charts.add("acc", new CurveChart(els.acc, { metric: () => QUALITY[task()] }));
  charts.add("loss", new CurveChart(els.loss, { metric: () => LOSS, marks: true, logY: true }));
  charts.add("lr", new LearnRateChart(els.lr));
  charts.setIterationsPerEpoch(run.progress?.iterations_per_epoch);
  // A script may log update ratios (update_ratio/<layer>) whatever its options say.
  if (run.spec?.options?.update_ratio_frequency > 0 || ownCode) charts.add("ratio", new UpdateRatioChart(els.ratio, els.ratioWrap));
  if (ownCode) charts.add("other", new OtherMetricsChart(els.other, els.otherWrap, els.otherNote));
  const lrChart = lrCard ? charts.add("lrRange", new LrRangeChart(lrCard.chartEl)) : null;

  // data-points: rows held; data-drawn: rows every chart has drawn (they lag by the redraw budget).
  const syncAttrs = () => {
    const last = charts.store.lastSeq();
    if (last !== null) page.dataset.lastSeq = String(last);
    page.dataset.points = String(charts.size);
    page.dataset.drawn = String(charts.drawnSize);
    if (ownCode) scriptCharts();
  };
  // A script's run: no learn-rate chart until it logs a learn rate, no epoch x axis until it
  // says epochs (the SDK's epoch is 0 where the script gave none).
  const epochOption = els.xAxis.querySelector("option[value=epoch]");
  function scriptCharts() {
    const hasLr = charts.store.has("learn_rate");
    if (els.lr.hidden === hasLr) {
      els.lr.hidden = !hasLr;
      if (hasLr && els.lr.data) Plotly.Plots.resize(els.lr);
    }
    epochOption.disabled = charts.store.maxEpoch() === 0;
    // Nor an accuracy chart until it logs an accuracy (or an RMSE).
    const hasQuality = charts.store.names().some((n) => /_(accuracy|rmse)$/.test(n));
    if (els.acc.hidden === hasQuality) {
      els.acc.hidden = !hasQuality;
      if (hasQuality && els.acc.data) Plotly.Plots.resize(els.acc);
    }
  }
  if (ownCode) { els.lr.hidden = true; els.acc.hidden = true; }
  charts.onDraw = syncAttrs;

  /* ---------- head and info panel ---------- */
  let liveState = "connecting";
  const renderInfo = () => {
    const rows = infoRows(run, charts.store, { kind, task: task(), external });
    els.info.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
  };

  const origin = originOf(run);
  function renderHead() {
    els.title.textContent = runLabel(run);
    document.title = `${runLabel(run)} · trainscope`;
    els.status.textContent = run.status;
    els.status.className = `badge big status-${run.status}`;
    els.sub.replaceChildren(...[`#${run.id}`,
      origin ? h("span", { "data-testid": "origin" }, origin.kind === "branch" ? " · branched from " : " · restarted from ",
        h("a", { href: `/runs/${origin.runId}` }, `run ${origin.runId}`),
        origin.kind === "branch" ? ` at epoch ${origin.epoch}` : "") : null,
      run.sweep_id ? h("span", {}, " · ", h("a", { href: `/sweeps/${run.sweep_id}`, "data-testid": "sweep-link" },
        `trial ${(run.sweep_trial ?? 0) + 1} of sweep ${run.sweep_id}`)) : null,
      run.group ? h("span", {}, " · group ", h("a", { href: groupUrl(run.group), "data-testid": "group-link" }, run.group)) : null,
      run.tags?.length ? ` · ${run.tags.join(", ")}` : null].filter((x) => x));
    const can = actionsOf(run, external);
    els.b.stop.disabled = !can.canStop;
    els.stopNote.hidden = !can.stopAsked;
    els.b.resume.disabled = !can.canResume;
    script?.buttons(els.b, els.b.repeat.parentElement);
    setLive(liveState);
    showFindings();
    if (can.final) loadResults();
  }

  function setLive(state) {
    liveState = state;
    const shown = liveWord(state, run);
    els.live.textContent = shown;
    els.live.className = `live-state ${shown}`;
  }

  /* ---------- results and findings ---------- */
  let resultsShown = false;
  async function loadResults() {
    if (resultsShown) return;
    let arts;
    try { arts = await api.artefacts(id); } catch { return; }
    if (!arts || resultsShown) return;
    const show = (testid, title, note, draw) => {
      resultsShown = true;
      const el = h("div", { class: "chart", "data-testid": testid });
      els.results.replaceChildren(h("h2", {}, title), note ? h("p", { class: "muted small" }, note) : null, el);
      els.results.hidden = false;
      draw(el);
    };
    if (arts.confusion_matrix) {
      show("confusion-matrix", "Test confusion matrix",
        "Rows: true class; columns: predicted. Colour: share of the row; numbers: counts.",
        (el) => drawConfusion(el, arts.confusion_matrix));
    } else if (arts.predictions) {
      show("predictions", "Test predictions against targets", null, (el) => drawPredictions(el, arts.predictions));
    }
  }

  /* The doctor's findings: the panel, the loss chart's markers, a preflight run's verdict. */
  let findings = [];
  let findingsLive = false; // a websocket list came: newer than the REST answer
  function showFindings() {
    doctor.update(findings);
    charts.setFindings(findings);
    verdict?.update(run, findings);
    if (lrCard) lrChart.setFinding(lrCard.update(run, findings));
  }
  function setFindings(list, live) {
    if (!live && findingsLive) return;
    findingsLive = findingsLive || live;
    findings = Array.isArray(list) ? list : [];
    showFindings();
  }
  api.findings(id).then((list) => setFindings(list, false)).catch(() => {});

  const actions = wireActions({ main, els, id, navigate, getRun: () => run, setRun: (r) => { run = r; }, renderHead,
    onResumed: () => { resultsShown = false; els.results.hidden = true; } });

  /* ---------- points: history, then live ---------- */
  let lastSeq = 0;
  try {
    charts.setHistory(await lineage);
  } catch (err) {
    say(els, `Could not load the history this branch goes on from: ${err.message}`);
  }
  try {
    const body = await history;
    await charts.load(body);
    lastSeq = body.last_seq ?? 0;
    if (body.downsampled) {
      say(els, `Long history: ${body.total} points drawn downsampled to ${body.seq.length} (every spike and NaN kept); zoom in for the detail. New points are added in full.`);
    }
  } catch (err) {
    await charts.load(emptyColumns()).catch(() => {});
    say(els, `Could not load the history: ${err.message}`);
  }
  syncAttrs();
  page.dataset.lastSeq = String(lastSeq);
  // Click a point of the loss or accuracy curve: branch from (the nearest checkpoint at or
  // before) its epoch; a point of a branch's history branches the run it belongs to.
  if (els.b.branch.isConnected) {
    for (const el of [els.loss, els.acc]) {
      el.on?.("plotly_click", (ev) => {
        const p = ev.points?.[0];
        const meta = p?.data?.meta || {};
        const at = p && charts.pointAt(Number(p.x), meta.history ?? meta.branch ?? null);
        if (at) actions.openBranch(at.runId, at.epoch);
      });
    }
  }
  renderHead();
  renderInfo();

  // The info panel follows the points at most every 250 ms: rebuilding it per websocket batch
  // would cost more than the charts.
  let infoTimer = null;
  const infoSoon = () => { if (!infoTimer) infoTimer = setTimeout(() => { infoTimer = null; renderInfo(); }, 250); };
  cleanups.push(() => clearTimeout(infoTimer));

  const stream = new RunStream(id, lastSeq, {
    hello(r) {
      run = withHello(run, r);
      charts.setIterationsPerEpoch(run.progress?.iterations_per_epoch);
      renderHead(); renderInfo();
    },
    columns(body) {
      charts.append(body);
      run = withPoints(run, body);
      syncAttrs();
      infoSoon();
    },
    status(msg) {
      run = withStatus(run, msg);
      charts.setIterationsPerEpoch(run.progress?.iterations_per_epoch);
      renderHead(); renderInfo();
    },
    findings: (list) => setFindings(list, true),
    artefact() { resultsShown = false; loadResults(); },
    logs: (lines) => script?.console.live(lines),
    deleted() {
      say(els, "This run was deleted.");
      setLive("ended");
    },
    state: setLive,
  });
  cleanups.push(() => stream.close());

  const tick = setInterval(() => { if (!actionsOf(run, external).final && run.started_at) renderInfo(); }, 1000);
  cleanups.push(() => clearInterval(tick));

  /* ---------- this run's branches: their curves from their epochs on ---------- */
  // Fetched at load, and again when a branch of this run is created or changes status (the
  // run list's socket says so), so a branch that ends is drawn whole.
  let branchesKey = "";
  async function loadBranches(all) {
    const mine = branchesOf(all, id);
    const key = mine.map((r) => `${r.id}:${r.status}`).join(",");
    if (key === branchesKey) return;
    branchesKey = key;
    els.branchesToggle.hidden = !mine.length;
    els.branchesCount.textContent = mine.length ? ` (${mine.length})` : "";
    try {
      const list = await Promise.all(mine.map((r) => api.metrics(r.id, { max_points: DISPLAY_MAX })
        .then((body) => ({ runId: r.id, epoch: r.spec.branch.epoch, body }))));
      if (key === branchesKey) charts.setBranches(list);
    } catch (err) { say(els, `Could not load this run's branches: ${err.message}`); }
  }
  if (els.b.branch.isConnected) {
    (knownRuns.size ? Promise.resolve([...knownRuns.values()]) : api.runs()).then(loadBranches).catch(() => {});
    cleanups.push(on("run", (r) => { if (r.spec?.branch?.run_id === id) loadBranches(knownRuns.values()); }));
    els.showBranches.addEventListener("change", () => charts.setShowBranches(els.showBranches.checked));
  }

  /* ---------- chart controls ---------- */
  els.smoothing.addEventListener("input", () => {
    els.smoothVal.textContent = Number(els.smoothing.value).toFixed(2);
    charts.setSmoothing(Number(els.smoothing.value));
  });
  els.xAxis.addEventListener("change", () => charts.setXMode(els.xAxis.value));
  els.logY.addEventListener("change", () => charts.setLogY(els.logY.checked));
  cleanups.push(on("theme", () => { charts.redraw(); rethemeAll([els.results.querySelector(".chart")]); }));

  return () => {
    for (const fn of cleanups) fn();
    charts.dispose();
    actions.dispose();
  };
}
