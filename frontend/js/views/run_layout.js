// The run page's DOM: head, toolbar, chart controls, the chart divs, the side panels. Builds
// the elements only; run.js fills them and run_actions.js wires the buttons.

import { h } from "../format.js";
import { configPanel } from "./config_panel.js";

const btn = (testid, label, cls = "btn") => h("button", { type: "button", class: cls, "data-testid": testid }, label);

/**
 * run: the REST answer; external: a script's run (no restart, resume or repeat); parts: the
 * doctor panel, verdict and LR range card (each with .el, or null).
 * → {page, els}: els names every element run.js and run_actions.js use.
 */
export function runLayout(run, { external, script, doctor, verdict, lrCard }) {
  const ownCode = external || Boolean(script);
  // Branching goes on from the engine's epoch checkpoints: its training runs only.
  const branchable = !ownCode && (run.spec?.kind ?? "train") === "train";
  const id = run.id;
  const els = {
    status: h("span", { class: "badge big", "data-testid": "run-status" }),
    live: h("span", { class: "live-state", "data-testid": "live-state" }),
    title: h("h1", {}),
    sub: h("div", { class: "sub muted" }),
    stopNote: h("p", { class: "stop-note", role: "status", "data-testid": "stop-requested", hidden: true },
      "stop requested — the script will stop at its next log"),
    b: {
      stop: btn("stop", "■ Stop", "btn danger-outline"),
      resume: btn("resume", "▶ Resume"),
      restart: btn("restart", "↻ Restart with changes", "btn primary"),
      branch: btn("branch", "↳ Branch from epoch…"),
      repeat: btn("repeat", "Repeat ×3"),
      csv: btn("export-csv", "CSV"),
      png: btn("export-png", "PNG"),
      del: btn("delete", "Delete", "btn danger-outline"),
    },
    repeatCount: h("input", { type: "number", min: "1", max: "50", step: "1", value: "3", class: "count-input",
      "data-testid": "repeat-count", id: "repeat-count", "aria-label": "How many repeats" }),
    smoothing: h("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: "0.6",
      "data-testid": "smoothing", id: "smoothing", "aria-label": "Smoothing" }),
    smoothVal: h("output", { for: "smoothing", class: "small mono" }, "0.60"),
    xAxis: h("select", { "data-testid": "x-axis", id: "x-axis", "aria-label": "X axis" },
      h("option", { value: "iteration" }, "Iteration"), h("option", { value: "epoch" }, "Epoch"),
      h("option", { value: "time" }, "Time")),
    logY: h("input", { type: "checkbox", "data-testid": "log-y", id: "log-y" }),
    showBranches: h("input", { type: "checkbox", "data-testid": "show-branches", id: "show-branches", checked: true }),
    branchesCount: h("span", {}),
    acc: h("div", { class: "chart", "data-testid": "chart-accuracy" }),
    loss: h("div", { class: "chart", "data-testid": "chart-loss" }),
    lr: h("div", { class: "chart small-chart", "data-testid": "chart-lr" }),
    other: h("div", { class: "chart", "data-testid": "chart-other" }),
    otherNote: h("p", { class: "muted small" }),
    ratio: h("div", { class: "chart small-chart", "data-testid": "chart-update-ratio" }),
    info: h("dl", { class: "info", "data-testid": "info-panel" }),
    results: h("section", { class: "results card", hidden: true }),
    notice: h("div", { class: "notice", hidden: true, role: "status", "data-testid": "notice" }),
  };
  const { b } = els;
  b.stop.title = external ? "Ask the script to stop: it hears it with its next log and ends the run stopped"
    : "Stop gracefully (a checkpoint is written; Resume continues)";
  b.branch.title = "Go on from an epoch's checkpoint with changed options (or click a point of the loss or accuracy chart)";
  b.repeat.title = "Start new runs identical to this one but for the seed, in one group: how much of a result is noise?";
  b.csv.title = "Export the points as CSV";
  b.png.title = "Export the charts as PNG";
  els.otherWrap = h("div", { class: "other-chart", "data-testid": "other-metrics", hidden: true },
    h("h3", { class: "chart-title" }, "Other metrics", h("span", { class: "muted small" }, " logged by the script, one panel each")),
    els.other, els.otherNote);
  els.ratioWrap = h("div", { class: "ratio-chart", "data-testid": "update-ratio", hidden: true },
    h("h3", { class: "chart-title", title: "Far below 1e-3 the layer barely learns (raise the learn rate); far above, its steps are too big (lower it)." },
      "Update / weight ratio", h("span", { class: "muted small" }, " ‖Δw‖/‖w‖ per layer; healthy ≈ 1e-3 (shaded 1e-4 to 1e-2)")),
    els.ratio);

  const page = h("div", { class: "page run-page", "data-testid": "run-page", "data-run-id": String(id),
    "data-last-seq": "0", "data-points": "0" },
  h("header", { class: "run-head" },
    h("div", { class: "title-block" }, h("div", { class: "title-row" }, els.title,
      external ? h("span", { class: "badge big kind-script", "data-testid": "script-badge",
        title: "Logged by its own training script through the SDK (trainscope.init)" }, "script") : null,
      script ? h("span", { class: "badge big kind-script", "data-testid": "script-badge",
        title: "A run of the entry point the server's operator registered" }, run.spec.entrypoint) : null,
      els.status, els.live), els.sub, els.stopNote),
    h("div", { class: "toolbar", role: "toolbar", "aria-label": "Run actions" },
      // An external run is trained by its script: nothing here can restart, resume or repeat it.
      b.stop, external ? null : [b.resume, b.restart, branchable ? b.branch : null,
        h("span", { class: "repeat-group", role: "group", "aria-label": "Repeat with other seeds" }, b.repeat, els.repeatCount)],
      h("span", { class: "sep" }), b.csv, b.png, b.del)),
  els.notice,
  verdict?.el, lrCard?.el,
  h("div", { class: "run-body" },
    h("div", { class: "charts card" },
      h("div", { class: "chart-controls" },
        h("label", { for: "smoothing" }, "Smoothing ", els.smoothing, els.smoothVal),
        h("label", { for: "x-axis" }, "X axis ", els.xAxis),
        h("label", { for: "log-y", class: "check" }, els.logY, " Log loss"),
        // Shown once the run has branches (run.js): their curves from their epochs on.
        els.branchesToggle = h("label", { for: "show-branches", class: "check", hidden: true,
          title: "Draw the runs branched from this one, each from its branch epoch on" },
        els.showBranches, " Branches", els.branchesCount),
        h("span", { class: "legend-note muted small" }, "light: per iteration · solid: smoothed · dashed: validation · ✕ NaN/Inf")),
      els.acc, els.loss, els.lr, els.ratioWrap, ownCode ? els.otherWrap : null),
    h("aside", { class: "side" },
      doctor.el,
      h("section", { class: "card" }, h("h2", {}, "Run"), els.info),
      external ? configPanel(run) : null, script?.side)),
  script?.console.el, els.results);
  return { page, els };
}

/** A note under the toolbar (an error, a deleted run, a downsampled history). */
export function say(els, text) {
  els.notice.hidden = false;
  els.notice.textContent = text;
}
