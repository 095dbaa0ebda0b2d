// The run page's actions: Stop, Resume, Restart with changes, Branch from epoch E with
// changes, Repeat ×N, CSV and PNG export, Delete (with its confirmation dialog). Each talks to the API and hands the answer to the
// page (setRun); the page redraws its head.

import { api } from "../api.js";
import { branchEpochAt } from "../branching.js";
import { h, runLabel } from "../format.js";
import { groupUrl } from "./group.js";
import { RestartDialog } from "./restart_dialog.js";
import { say } from "./run_layout.js";
import { withResumeAnswer, withStopAnswer } from "./run_state.js";

function download(url, name) {
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

/**
 * main: the page's container (dialogs go there); els: run_layout.js's; getRun() / setRun(run):
 * the page's run; renderHead(): after every action; onResumed(): the results are stale.
 * → {openRestart(patch), openBranch(runId, epoch), dispose()}.
 */
export function wireActions({ main, els, id, navigate, getRun, setRun, renderHead, onResumed }) {
  const { b, repeatCount } = els;
  const repeatLabel = () => {
    const n = Math.round(Number(repeatCount.value));
    b.repeat.textContent = `Repeat ×${Number.isFinite(n) && n >= 1 ? Math.min(n, 50) : "?"}`;
  };
  repeatCount.addEventListener("input", repeatLabel);
  repeatCount.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); b.repeat.click(); } });

  const busy = async (button, label, fn) => {
    const old = button.textContent;
    button.disabled = true;
    button.textContent = label;
    try { await fn(); } catch (err) { say(els, err.message); } finally {
      button.textContent = old; button.disabled = false; renderHead();
    }
  };

  // The answer first, then the run as it is by then: a status message may have come meanwhile.
  b.stop.addEventListener("click", () => busy(b.stop, "Stopping…", async () => {
    const answer = await api.stop(id);
    setRun(withStopAnswer(getRun(), answer));
  }));
  b.resume.addEventListener("click", () => busy(b.resume, "Resuming…", async () => {
    const answer = await api.resume(id);
    setRun(withResumeAnswer(getRun(), answer));
    onResumed();
  }));
  b.repeat.addEventListener("click", () => {
    const n = Math.round(Number(repeatCount.value));
    if (!Number.isFinite(n) || n < 1 || n > 50) {
      say(els, "Repeat: give a count from 1 to 50.");
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
  b.png.addEventListener("click", () => Plotly.downloadImage(els.loss,
    { format: "png", filename: `trainscope-run-${id}-loss`, width: 1200, height: 500 })
    .then(() => Plotly.downloadImage(els.acc, { format: "png", filename: `trainscope-run-${id}-accuracy`, width: 1200, height: 500 }))
    .catch((err) => say(els, `PNG export failed: ${err.message}`)));

  const restartDialog = new RestartDialog(main, navigate);
  const openRestart = (patch) => restartDialog.open(getRun(), patch);
  b.restart.addEventListener("click", () => openRestart(null));

  // Branch run `runId` (this one, or an ancestor whose history a click landed on) from the
  // nearest epoch with a checkpoint at or before `wanted` (its last one when null). The run is
  // fetched again: a running run gains epochs as it trains.
  const openBranch = async (runId, wanted = null) => {
    let target;
    try { target = await api.run(runId); } catch (err) { say(els, err.message); return; }
    const epochs = target.branchable_epochs || [];
    const epoch = wanted === null ? epochs.at(-1) ?? null : branchEpochAt(epochs, wanted);
    if (epoch === null) {
      say(els, epochs.length
        ? `Run ${runId} has no checkpoint at or before epoch ${wanted}; it can be branched from epochs ${epochs.join(", ")}.`
        : `Run ${runId} has no epoch checkpoint yet: it can be branched once an epoch has ended.`);
      return;
    }
    await restartDialog.openBranch(target, epoch, epochs);
  };
  b.branch.addEventListener("click", () => openBranch(id, null));

  const deleteDialog = h("dialog", { class: "dialog", "aria-label": "Delete run" });
  main.append(deleteDialog);
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
    deleteDialog.replaceChildren(h("h2", {}, `Delete ${runLabel(getRun())}?`),
      h("p", {}, "Its points, findings, results and checkpoints are removed. This cannot be undone."),
      h("p", { class: "error-text" }),
      h("div", { class: "form-actions" }, yes, no));
    deleteDialog.showModal();
    no.focus();
  });

  return { openRestart, openBranch, dispose() { restartDialog.remove(); deleteDialog.remove(); } };
}
