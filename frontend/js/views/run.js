// The run page: live training-progress charts, info panel, actions, results.

import { api } from "../api.js";
import { RunStream } from "../live.js";
import { drawConfusion, drawPredictions, rethemeAll } from "../charts.js";
import { DISPLAY_MAX, RunCharts } from "../run_charts.js";
import { on } from "../state.js";
import { h, runLabel, fmtNum, fmtDuration, fmtReason, FINAL, flatten, toNum } from "../format.js";
import { LrRangeChart } from "../lr_range.js";
import { KINDS, baseName, runKind } from "../run_kinds.js";
import { UpdateRatioChart } from "../update_ratio_chart.js";
import { OtherMetricsChart } from "../other_metrics_chart.js";
import { isExternal, maxEpochsOf, patchInScript } from "../external.js";
import { configPanel } from "./config_panel.js";
import { DoctorPanel, LrRangeCard, Verdict } from "./doctor.js";
import { newRunUrl } from "./new_run.js";
import { RestartDialog } from "./restart_dialog.js";
import { groupUrl } from "./group.js";
import { scriptRunParts } from "./script_run.js";

function download(url, name) {
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

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

  // A run logged by its own script (the SDK): trainscope cannot restart, resume or repeat it;
  // Stop asks the script, which hears it with its next log.
  const external = isExternal(run);
  // A run of a registered entry point (the user's own code, started by trainscope): its
  // options panel and console; its charts are whatever it logs, like an external run's.
  const script = run.spec?.kind === "script" ? await scriptRunParts(run) : null;
  const ownCode = external || Boolean(script);

  /* ---------- skeleton ---------- */
  const statusEl = h("span", { class: "badge big", "data-testid": "run-status" });
  const liveEl = h("span", { class: "live-state", "data-testid": "live-state" });
  const titleEl = h("h1", {});
  const subEl = h("div", { class: "sub muted" });
  const btn = (testid, label, cls = "btn") => h("button", { type: "button", class: cls, "data-testid": testid }, label);
  const b = {
    stop: btn("stop", "■ Stop", "btn danger-outline"),
    resume: btn("resume", "▶ Resume"),
    restart: btn("restart", "↻ Restart with changes", "btn primary"),
    repeat: btn("repeat", "Repeat ×3"),
    csv: btn("export-csv", "CSV"),
    png: btn("export-png", "PNG"),
    del: btn("delete", "Delete", "btn danger-outline"),
  };
  b.stop.title = external ? "Ask the script to stop: it hears it with its next log and ends the run stopped"
    : "Stop gracefully (a checkpoint is written; Resume continues)";
  const stopNote = h("p", { class: "stop-note", role: "status", "data-testid": "stop-requested", hidden: true },
    "stop requested — the script will stop at its next log");
  b.repeat.title = "Start new runs identical to this one but for the seed, in one group: how much of a result is noise?";
  const repeatCount = h("input", { type: "number", min: "1", max: "50", step: "1", value: "3", class: "count-input",
    "data-testid": "repeat-count", id: "repeat-count", "aria-label": "How many repeats" });
  const repeatLabel = () => {
    const n = Math.round(Number(repeatCount.value));
    b.repeat.textContent = `Repeat ×${Number.isFinite(n) && n >= 1 ? Math.min(n, 50) : "?"}`;
  };
  repeatCount.addEventListener("input", repeatLabel);
  repeatCount.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); b.repeat.click(); } });
  b.csv.title = "Export the points as CSV";
  b.png.title = "Export the charts as PNG";

  const smoothing = h("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: "0.6",
    "data-testid": "smoothing", id: "smoothing", "aria-label": "Smoothing" });
  const smoothVal = h("output", { for: "smoothing", class: "small mono" }, "0.60");
  const xAxis = h("select", { "data-testid": "x-axis", id: "x-axis", "aria-label": "X axis" },
    h("option", { value: "iteration" }, "Iteration"), h("option", { value: "epoch" }, "Epoch"),
    h("option", { value: "time" }, "Time"));
  const logY = h("input", { type: "checkbox", "data-testid": "log-y", id: "log-y" });

  const accEl = h("div", { class: "chart", "data-testid": "chart-accuracy" });
  const lossEl = h("div", { class: "chart", "data-testid": "chart-loss" });
  const lrEl = h("div", { class: "chart small-chart", "data-testid": "chart-lr" });
  const otherEl = h("div", { class: "chart", "data-testid": "chart-other" });
  const otherNote = h("p", { class: "muted small" });
  const otherWrap = h("div", { class: "other-chart", "data-testid": "other-metrics", hidden: true },
    h("h3", { class: "chart-title" }, "Other metrics", h("span", { class: "muted small" }, " logged by the script, one panel each")),
    otherEl, otherNote);
  const ratioEl = h("div", { class: "chart small-chart", "data-testid": "chart-update-ratio" });
  const ratioWrap = h("div", { class: "ratio-chart", "data-testid": "update-ratio", hidden: true },
    h("h3", { class: "chart-title", title: "Far below 1e-3 the layer barely learns (raise the learn rate); far above, its steps are too big (lower it)." },
      "Update / weight ratio", h("span", { class: "muted small" }, " ‖Δw‖/‖w‖ per layer; healthy ≈ 1e-3 (shaded 1e-4 to 1e-2)")),
    ratioEl);
  const info = h("dl", { class: "info", "data-testid": "info-panel" });
  const kind = runKind(run);
  // The LR range test's suggestion is for training: applied, it starts a train run (a child of
  // the test), not another test. The other preflight checks' fixes are checked again.
  // (A suggestion's patch may already say kind "train"; the name still loses its prefix.)
  const restartBody = (patch) => (kind === "lr-range-test"
    ? { kind: "train", name: baseName(run.spec?.name) ?? null, ...patch } : patch);
  const onEdit = (patch) => (kind === "lr-range-test" ? navigate(newRunUrl(id, flatten(patch))) : openRestart(patch));
  const doctor = new DoctorPanel({ runId: id, navigate, onEdit, restartBody,
    inScript: external ? (patch) => patchInScript(run, patch) : null });
  const verdict = KINDS[kind]?.verdict ? new Verdict(kind) : null;
  const lrCard = kind === "lr-range-test" ? new LrRangeCard({ runId: id, navigate }) : null;
  const resultsEl = h("section", { class: "results card", hidden: true });
  const notice = h("div", { class: "notice", hidden: true, role: "status", "data-testid": "notice" });

  const page = h("div", { class: "page run-page", "data-testid": "run-page", "data-run-id": String(id),
    "data-last-seq": "0", "data-points": "0" },
  h("header", { class: "run-head" },
    h("div", { class: "title-block" }, h("div", { class: "title-row" }, titleEl,
      external ? h("span", { class: "badge big kind-script", "data-testid": "script-badge",
        title: "Logged by its own training script through the SDK (trainscope.init)" }, "script") : null,
      script ? h("span", { class: "badge big kind-script", "data-testid": "script-badge",
        title: "A run of the entry point the server's operator registered" }, run.spec.entrypoint) : null,
      statusEl, liveEl), subEl, stopNote),
    h("div", { class: "toolbar", role: "toolbar", "aria-label": "Run actions" },
      // An external run is trained by its script: nothing here can restart, resume or repeat it.
      b.stop, external ? null : [b.resume, b.restart,
        h("span", { class: "repeat-group", role: "group", "aria-label": "Repeat with other seeds" }, b.repeat, repeatCount)],
      h("span", { class: "sep" }), b.csv, b.png, b.del)),
  notice,
  verdict?.el, lrCard?.el,
  h("div", { class: "run-body" },
    h("div", { class: "charts card" },
      h("div", { class: "chart-controls" },
        h("label", { for: "smoothing" }, "Smoothing ", smoothing, smoothVal),
        h("label", { for: "x-axis" }, "X axis ", xAxis),
        h("label", { for: "log-y", class: "check" }, logY, " Log loss"),
        h("span", { class: "legend-note muted small" }, "light: per iteration · solid: smoothed · dashed: validation · ✕ NaN/Inf")),
      accEl, lossEl, lrEl, ratioWrap, ownCode ? otherWrap : null),
    h("aside", { class: "side" },
      doctor.el,
      h("section", { class: "card" }, h("h2", {}, "Run"), info),
      external ? configPanel(run) : null, script?.side)),
  script?.console.el, resultsEl);
  main.replaceChildren(page);

  const task = () => run.info?.task || (run.spec?.dataset?.name === "sine-forecast" ? "regression" : "classification");
  const charts = new RunCharts({ acc: accEl, loss: lossEl, lr: lrEl },
    { runId: id, task: task(), fetchDetail: (params) => api.metrics(id, params) });
  charts.setIterationsPerEpoch(run.progress?.iterations_per_epoch);
  // A script may log update ratios (update_ratio/<layer>) whatever its options say.
  if (run.spec?.options?.update_ratio_frequency > 0 || ownCode) charts.addChart("ratio", new UpdateRatioChart(charts, ratioEl, ratioWrap));
  if (ownCode) charts.addChart("other", new OtherMetricsChart(charts, otherEl, otherWrap, otherNote));
  const lrChart = lrCard ? new LrRangeChart(charts, lrCard.chartEl) : null;
  if (lrChart) charts.addChart("lrRange", lrChart);
  let liveState = "connecting";

  // data-points: rows held; data-drawn: rows every chart has drawn (they lag by the redraw budget).
  const syncAttrs = () => {
    const c = charts.cols;
    if (c.seq.length) page.dataset.lastSeq = String(c.seq[c.seq.length - 1]);
    page.dataset.points = String(c.seq.length);
    page.dataset.drawn = String(charts.drawnSize);
    if (ownCode) scriptCharts();
  };
  // A script's run: no learn-rate chart until it logs a learn rate, no epoch x axis until it
  // says epochs (the SDK's epoch is 0 where the script gave none).
  const epochOption = xAxis.querySelector("option[value=epoch]");
  function scriptCharts() {
    const hasLr = Boolean(charts.cols.values.learn_rate);
    if (lrEl.hidden === hasLr) {
      lrEl.hidden = !hasLr;
      if (hasLr && lrEl.data) Plotly.Plots.resize(lrEl);
    }
    epochOption.disabled = charts.maxEpoch() === 0;
    // Nor an accuracy chart until it logs an accuracy (or an RMSE).
    const v = charts.cols.values;
    const hasAcc = Boolean(v[charts.metric.train] || v[charts.metric.val]);
    if (accEl.hidden === hasAcc) {
      accEl.hidden = !hasAcc;
      if (hasAcc && accEl.data) Plotly.Plots.resize(accEl);
    }
  }
  if (ownCode) { lrEl.hidden = true; accEl.hidden = true; }
  charts.onDraw = syncAttrs;

  /* ---------- info panel ---------- */
  function lastValue(key) {
    const arr = charts.cols.values[key];
    if (arr) for (let i = arr.length - 1; i >= 0; i--) if (arr[i] !== null) return arr[i];
    return toNum(run.latest?.[key]);
  }

  function renderInfo() {
    const p = run.progress || {};
    const c = charts.cols;
    const it = c.it.length ? Math.max(c.it[c.it.length - 1], p.iteration || 0) : p.iteration || 0;
    const ep = c.ep.length ? Math.max(c.ep[c.ep.length - 1], p.epoch || 0) : p.epoch || 0;
    const o = run.spec?.options || {};
    const end = run.ended_at || (FINAL.has(run.status) ? null : Date.now() / 1000);
    const elapsed = run.started_at && end ? end - run.started_at : null;
    const isReg = task() === "regression";
    const best = run.best || {};
    const rows = [
      ["Status", `${run.status}${fmtReason(run) ? ` — ${fmtReason(run)}` : ""}`],
      ["Elapsed", fmtDuration(elapsed)],
      // A preflight check runs its own number of iterations, whatever max_epochs says.
      ["Epoch", kind === "train" ? `${ep} of ${p.max_epochs ?? o.max_epochs ?? "?"}` : String(ep)],
      ["Iteration", `${it} of ${p.max_iterations ?? "?"}`],
      ["Iterations per epoch", p.iterations_per_epoch ?? run.info?.iterations_per_epoch ?? "—"],
      ["Learn rate", fmtNum(lastValue("learn_rate"), 4)],
      ["Validation frequency", o.validation_frequency ? `every ${o.validation_frequency} iterations` : "—"],
      ["Device", run.device || run.info?.device || "—"],
      [isReg ? "Val RMSE" : "Val accuracy", isReg ? fmtNum(lastValue("val_rmse"), 4)
        : (lastValue("val_accuracy") === null ? "—" : `${(lastValue("val_accuracy") * 100).toFixed(2)}%`)],
      ["Best val loss", best.val_loss !== undefined ? `${fmtNum(best.val_loss, 4)} (it. ${best.iteration})` : "—"],
      ["Dataset", `${run.spec?.dataset?.name ?? "?"}${run.info?.n_train ? ` (${run.info.n_train} train)` : ""}`],
      ["Model", run.spec?.model?.preset ?? `${run.spec?.model?.layers?.length ?? "?"} layers`],
      ["Solver", `${o.solver} · lr ${fmtNum(o.initial_learn_rate)} · batch ${o.mini_batch_size}`],
    ];
    if (ownCode) rows.splice(0, rows.length, ...scriptRows(rows, { it, ep }));
    const test = isReg ? lastValue("test_rmse") : lastValue("test_accuracy");
    if (test !== null && test !== undefined) rows.push([isReg ? "Test RMSE" : "Test accuracy", isReg ? fmtNum(test, 4) : `${(test * 100).toFixed(2)}%`]);
    if (run.message) rows.push(["Message", run.message]);
    info.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
  }

  /** The info panel of a script's run: who logged it (info.client) instead of dataset, model
   *  and solver (its config panel has those in its own words), progress without a max it
   *  never said. */
  function scriptRows(rows, { it, ep }) {
    const row = (k) => rows.find((r) => r[0] === k);
    const client = run.info?.client || {};
    const words = { host: "Host", pid: "PID", python: "Python", sdk: "SDK" };
    const max = maxEpochsOf(run);
    const lr = lastValue("learn_rate");
    return [
      row("Status"), row("Elapsed"),
      script ? ["Entry point", run.spec.entrypoint] : ["Logged by", "a script"],
      ...Object.entries(client).map(([k, v]) => [words[k] || k, v ?? "—"]),
      ["Epoch", max ? `${ep} of ${max}` : ep ? String(ep) : "—"],
      ["Step", run.progress?.max_iterations ? `${it} of ${run.progress.max_iterations}` : String(it)],
      lr !== null && lr !== undefined ? row("Learn rate") : null,
      row(task() === "regression" ? "Val RMSE" : "Val accuracy"), row("Best val loss"),
    ].filter(Boolean);
  }

  function renderHead() {
    titleEl.textContent = runLabel(run);
    document.title = `${runLabel(run)} · trainscope`;
    statusEl.textContent = run.status;
    statusEl.className = `badge big status-${run.status}`;
    subEl.replaceChildren(...[`#${run.id}`,
      run.parent_id ? h("span", {}, " · restarted from ", h("a", { href: `/runs/${run.parent_id}` }, `run ${run.parent_id}`)) : null,
      run.sweep_id ? h("span", {}, " · ", h("a", { href: `/sweeps/${run.sweep_id}`, "data-testid": "sweep-link" },
        `trial ${(run.sweep_trial ?? 0) + 1} of sweep ${run.sweep_id}`)) : null,
      run.group ? h("span", {}, " · group ", h("a", { href: groupUrl(run.group), "data-testid": "group-link" }, run.group)) : null,
      run.tags?.length ? ` · ${run.tags.join(", ")}` : null].filter((x) => x));
    const final = FINAL.has(run.status);
    const stopAsked = external && Boolean(run.info?.stop_requested) && !final;
    b.stop.disabled = !["queued", "running"].includes(run.status) || stopAsked;
    stopNote.hidden = !stopAsked;
    b.resume.disabled = !["stopped", "interrupted", "failed"].includes(run.status);
    script?.buttons(b, b.repeat.parentElement);
    setLive(liveState);
    showFindings();
    if (final) loadResults();
  }

  function setLive(state) {
    liveState = state;
    const shown = state === "live" && FINAL.has(run.status) ? "ended" : state === "gone" ? "ended" : state;
    liveEl.textContent = shown;
    liveEl.className = `live-state ${shown}`;
  }

  /* ---------- results and findings ---------- */
  let resultsShown = false;
  async function loadResults() {
    if (resultsShown) return;
    let arts;
    try { arts = await api.artefacts(id); } catch { return; }
    if (!arts || resultsShown) return;
    if (arts.confusion_matrix) {
      resultsShown = true;
      const el = h("div", { class: "chart", "data-testid": "confusion-matrix" });
      resultsEl.replaceChildren(h("h2", {}, "Test confusion matrix"),
        h("p", { class: "muted small" }, "Rows: true class; columns: predicted. Colour: share of the row; numbers: counts."), el);
      resultsEl.hidden = false;
      drawConfusion(el, arts.confusion_matrix);
    } else if (arts.predictions) {
      resultsShown = true;
      const el = h("div", { class: "chart", "data-testid": "predictions" });
      resultsEl.replaceChildren(h("h2", {}, "Test predictions against targets"), el);
      resultsEl.hidden = false;
      drawPredictions(el, arts.predictions);
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

  /* ---------- points: history, then live ---------- */
  let lastSeq = 0;
  try {
    const cols = await history;
    await charts.load(cols);
    lastSeq = cols.last_seq ?? 0;
    if (cols.downsampled) {
      notice.hidden = false;
      notice.textContent = `Long history: ${cols.total} points drawn downsampled to ${cols.seq.length} (every spike and NaN kept); zoom in for the detail. New points are added in full.`;
    }
  } catch (err) {
    await charts.load({ seq: [], iteration: [], epoch: [], wall_time: [], values: {} }).catch(() => {});
    notice.hidden = false;
    notice.textContent = `Could not load the history: ${err.message}`;
  }
  syncAttrs();
  page.dataset.lastSeq = String(lastSeq);
  renderHead();
  renderInfo();

  // The info panel follows the points at most every 250 ms: rebuilding it per websocket batch
  // would cost more than the charts.
  let infoTimer = null;
  const infoSoon = () => { if (!infoTimer) infoTimer = setTimeout(() => { infoTimer = null; renderInfo(); }, 250); };
  cleanups.push(() => clearTimeout(infoTimer));

  const stream = new RunStream(id, lastSeq, {
    hello(r) {
      run = { ...run, ...r };
      charts.setIterationsPerEpoch(run.progress?.iterations_per_epoch);
      renderHead(); renderInfo();
    },
    points(pts) {
      charts.append(pts);
      const last = pts[pts.length - 1];
      run.progress = { ...(run.progress || {}), iteration: last.iteration, epoch: last.epoch };
      syncAttrs();
      infoSoon();
    },
    status(msg) {
      run = msg.run ? { ...run, ...msg.run } : { ...run, status: msg.status, finish_reason: msg.finish_reason, message: msg.message };
      charts.setIterationsPerEpoch(run.progress?.iterations_per_epoch);
      renderHead(); renderInfo();
    },
    findings: (list) => setFindings(list, true),
    artefact() { resultsShown = false; loadResults(); },
    logs: (lines) => script?.console.live(lines),
    deleted() {
      notice.hidden = false;
      notice.textContent = "This run was deleted.";
      setLive("ended");
    },
    state: setLive,
  });
  cleanups.push(() => stream.close());

  const tick = setInterval(() => { if (!FINAL.has(run.status) && run.started_at) renderInfo(); }, 1000);
  cleanups.push(() => clearInterval(tick));

  /* ---------- controls ---------- */
  smoothing.addEventListener("input", () => {
    smoothVal.textContent = Number(smoothing.value).toFixed(2);
    charts.setSmoothing(Number(smoothing.value));
  });
  xAxis.addEventListener("change", () => charts.setXMode(xAxis.value));
  logY.addEventListener("change", () => charts.setLogY(logY.checked));
  cleanups.push(on("theme", () => { charts.redraw(); rethemeAll([resultsEl.querySelector(".chart")]); }));

  const busy = async (button, label, fn) => {
    const old = button.textContent;
    button.disabled = true;
    button.textContent = label;
    try { await fn(); } catch (err) {
      notice.hidden = false;
      notice.textContent = err.message;
    } finally { button.textContent = old; button.disabled = false; renderHead(); }
  };

  b.stop.addEventListener("click", () => busy(b.stop, "Stopping…", async () => {
    const r = await api.stop(id);
    // A script's run answers at once, still running; the script may hear it, end the run and
    // the websocket say so before this answer is read: an older "running" never undoes that.
    if (r) run = FINAL.has(run.status) && !FINAL.has(r.status) ? { ...run, info: r.info } : { ...run, ...r };
  }));
  b.resume.addEventListener("click", () => busy(b.resume, "Resuming…", async () => {
    const r = await api.resume(id);
    if (r) run = { ...run, ...r };
    resultsShown = false;
    resultsEl.hidden = true;
  }));
  b.repeat.addEventListener("click", () => {
    const n = Math.round(Number(repeatCount.value));
    if (!Number.isFinite(n) || n < 1 || n > 50) {
      notice.hidden = false;
      notice.textContent = "Repeat: give a count from 1 to 50.";
      repeatCount.focus();
      return;
    }
    busy(b.repeat, "Starting…", async () => {
      const answer = await api.repeat(id, n);
      navigate(groupUrl(answer.group));
    }).then(repeatLabel);
  });
  // Every stored point, from the server (the page may hold a downsampled history).
  b.csv.addEventListener("click", () => download(`/api/runs/${id}/metrics.csv`, `trainscope-run-${id}.csv`));
  b.png.addEventListener("click", () => Plotly.downloadImage(page.querySelector("[data-testid=chart-loss]"),
    { format: "png", filename: `trainscope-run-${id}-loss`, width: 1200, height: 500 })
    .then(() => Plotly.downloadImage(accEl, { format: "png", filename: `trainscope-run-${id}-accuracy`, width: 1200, height: 500 }))
    .catch((err) => { notice.hidden = false; notice.textContent = `PNG export failed: ${err.message}`; }));

  /* ---------- dialogs ---------- */
  const restartDialog = new RestartDialog(main, navigate);
  const deleteDialog = h("dialog", { class: "dialog", "aria-label": "Delete run" });
  main.append(deleteDialog);

  function openRestart(patch) { return restartDialog.open(run, patch); }
  b.restart.addEventListener("click", () => openRestart(null));

  b.del.addEventListener("click", () => {
    const yes = h("button", { type: "button", class: "btn danger", "data-testid": "confirm-delete" }, "Delete");
    const no = h("button", { type: "button", class: "btn" }, "Cancel");
    no.addEventListener("click", () => deleteDialog.close());
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await api.remove(id);
        deleteDialog.close();
        navigate("/");
      } catch (err) {
        yes.disabled = false;
        deleteDialog.querySelector(".error-text").textContent = err.message;
      }
    });
    deleteDialog.replaceChildren(h("h2", {}, `Delete ${runLabel(run)}?`),
      h("p", {}, "Its points, findings, results and checkpoints are removed. This cannot be undone."),
      h("p", { class: "error-text" }),
      h("div", { class: "form-actions" }, yes, no));
    deleteDialog.showModal();
    no.focus();
  });

  return () => {
    for (const fn of cleanups) fn();
    charts.dispose();
    restartDialog.remove();
    deleteDialog.remove();
  };
}
