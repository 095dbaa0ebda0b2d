// The run page's view of a run, merged from its five sources: the REST answer, the websocket's
// hello, its status messages, the points (progress) and the answers to Stop and Resume. Pure
// functions over a run object (no DOM), each returning the merged run.

import { FINAL } from "../format.js";
import { ACTIVE_STATUSES } from "../contract.js";

/** The websocket's hello carries the whole run. */
export function withHello(run, hello) { return { ...run, ...hello }; }

/** A status message: the whole run when it carries one, else its status fields. */
export function withStatus(run, msg) {
  if (msg.run) return { ...run, ...msg.run };
  return { ...run, status: msg.status, finish_reason: msg.finish_reason, message: msg.message };
}

/** A columnar body of new points moves the progress to its last row. */
export function withPoints(run, body) {
  const n = body.seq.length;
  if (!n) return run;
  return { ...run, progress: { ...(run.progress || {}), iteration: body.iteration[n - 1], epoch: body.epoch[n - 1] } };
}

/** Stop's answer. A script's run answers at once, still running; the script may hear it, end
 *  the run and the websocket say so before this answer is read: an older "running" never
 *  undoes that (only the stop request it records is taken). */
export function withStopAnswer(run, answer) {
  if (!answer) return run;
  return FINAL.has(run.status) && !FINAL.has(answer.status) ? { ...run, info: answer.info } : { ...run, ...answer };
}

/** Resume's answer: the run again, queued. */
export function withResumeAnswer(run, answer) { return answer ? { ...run, ...answer } : run; }

/**
 * "classification" | "regression", from what the run says, never from its dataset's name:
 * the worker's info.task, else the metric names it logged (names: the values held, plus its
 * latest and best), else its dataset spec's task when that is not "auto".
 */
export function taskOf(run, names = []) {
  // The engine says its task; a script run's info says "script", so its metrics decide.
  if (run.info?.task === "classification" || run.info?.task === "regression") return run.info.task;
  const all = [...names, ...Object.keys(run.latest || {}), ...Object.keys(run.best || {})];
  if (all.some((k) => k.endsWith("_rmse"))) return "regression";
  if (all.some((k) => k.endsWith("_accuracy"))) return "classification";
  const declared = run.spec?.dataset?.task;
  return declared === "regression" ? "regression" : "classification";
}

/** What the buttons allow now. external: a script's run (Stop asks the script). */
export function actionsOf(run, external) {
  const final = FINAL.has(run.status);
  const stopAsked = external && Boolean(run.info?.stop_requested) && !final;
  return {
    final,
    stopAsked,
    canStop: ACTIVE_STATUSES.has(run.status) && !stopAsked,
    canResume: ["stopped", "interrupted", "failed"].includes(run.status),
  };
}

/** The live badge's word: a socket still open on a finished run, or a gone run, is "ended". */
export function liveWord(state, run) {
  return (state === "live" && FINAL.has(run.status)) || state === "gone" ? "ended" : state;
}
