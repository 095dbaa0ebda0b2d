// The run page's info panel as rows [label, value]: pure (no DOM), from the run and the points
// held (a ColumnStore).

import { fmtDuration, fmtNum, fmtReason, FINAL, toNum } from "../format.js";
import { maxEpochsOf } from "../external.js";

const pct = (v) => `${(v * 100).toFixed(2)}%`;

/**
 * run; store: its points; kind: runKind(run); task: taskOf(run, ...); external: a script's
 * run; now: seconds since the epoch. → [[label, value], ...].
 */
export function infoRows(run, store, { kind, task, external, now = Date.now() / 1000 }) {
  // A script run (an entry point) reads like a run its own script logged.
  external = external || run.spec?.kind === "script";
  const last = (key) => { const v = store.last(key); return v === undefined ? toNum(run.latest?.[key]) : v; };
  const p = run.progress || {};
  const n = store.size;
  const it = n ? Math.max(store.iteration[n - 1], p.iteration || 0) : p.iteration || 0;
  const ep = n ? Math.max(store.epoch[n - 1], p.epoch || 0) : p.epoch || 0;
  const o = run.spec?.options || {};
  const end = run.ended_at || (FINAL.has(run.status) ? null : now);
  const elapsed = run.started_at && end ? end - run.started_at : null;
  const isReg = task === "regression";
  const best = run.best || {};
  const valAcc = last("val_accuracy");
  const rows = [
    ["Status", `${run.status}${fmtReason(run) ? ` — ${fmtReason(run)}` : ""}`],
    ["Elapsed", fmtDuration(elapsed)],
    // A preflight check runs its own number of iterations, whatever max_epochs says.
    ["Epoch", kind === "train" ? `${ep} of ${p.max_epochs ?? o.max_epochs ?? "?"}` : String(ep)],
    ["Iteration", `${it} of ${p.max_iterations ?? "?"}`],
    ["Iterations per epoch", p.iterations_per_epoch ?? run.info?.iterations_per_epoch ?? "—"],
    ["Learn rate", fmtNum(last("learn_rate"), 4)],
    ["Validation frequency", o.validation_frequency ? `every ${o.validation_frequency} iterations` : "—"],
    ["Device", run.device || run.info?.device || "—"],
    [isReg ? "Val RMSE" : "Val accuracy", isReg ? fmtNum(last("val_rmse"), 4) : (valAcc === null ? "—" : pct(valAcc))],
    ["Best val loss", best.val_loss !== undefined ? `${fmtNum(best.val_loss, 4)} (it. ${best.iteration})` : "—"],
    ["Dataset", `${run.spec?.dataset?.name ?? "?"}${run.info?.n_train ? ` (${run.info.n_train} train)` : ""}`],
    ["Model", run.spec?.model?.preset ?? `${run.spec?.model?.layers?.length ?? "?"} layers`],
    ["Solver", `${o.solver} · lr ${fmtNum(o.initial_learn_rate)} · batch ${o.mini_batch_size}`],
  ];
  const out = external ? scriptRows(run, rows, { it, ep, lr: last("learn_rate"), isReg }) : rows;
  const test = isReg ? last("test_rmse") : last("test_accuracy");
  if (test !== null && test !== undefined) out.push([isReg ? "Test RMSE" : "Test accuracy", isReg ? fmtNum(test, 4) : pct(test)]);
  if (run.message) out.push(["Message", run.message]);
  return out;
}

/** The info panel of a script's run: who logged it (info.client) instead of dataset, model
 *  and solver (its config panel has those in its own words), progress without a max it
 *  never said. */
function scriptRows(run, rows, { it, ep, lr, isReg }) {
  const row = (k) => rows.find((r) => r[0] === k);
  const client = run.info?.client || {};
  const words = { host: "Host", pid: "PID", python: "Python", sdk: "SDK" };
  const max = maxEpochsOf(run);
  return [
    row("Status"), row("Elapsed"),
    run.spec?.kind === "script" ? ["Entry point", run.spec.entrypoint] : ["Logged by", "a script"],
    ...Object.entries(client).map(([k, v]) => [words[k] || k, v ?? "—"]),
    ["Epoch", max ? `${ep} of ${max}` : ep ? String(ep) : "—"],
    ["Step", run.progress?.max_iterations ? `${it} of ${run.progress.max_iterations}` : String(it)],
    lr !== null && lr !== undefined ? row("Learn rate") : null,
    row(isReg ? "Val RMSE" : "Val accuracy"), row("Best val loss"),
  ].filter(Boolean);
}
