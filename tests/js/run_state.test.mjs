// views/run_state.js and views/run_info.js: merging a run from its sources, the info panel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { actionsOf, liveWord, taskOf, withHello, withPoints, withStatus, withStopAnswer }
  from "../../frontend/js/views/run_state.js";
import { infoRows } from "../../frontend/js/views/run_info.js";
import { ColumnStore } from "../../frontend/js/column_store.js";

test("the task comes from the run's info, then its metric names, then its dataset spec", () => {
  assert.equal(taskOf({ info: { task: "regression" } }), "regression");
  // The dataset's name says nothing: a sine forecast without info is told by its metrics.
  assert.equal(taskOf({ spec: { dataset: { name: "sine-forecast" } } }), "classification");
  assert.equal(taskOf({ spec: { dataset: { name: "sine-forecast" } } }, ["train_loss", "train_rmse"]), "regression");
  assert.equal(taskOf({ latest: { val_rmse: 0.2 } }), "regression");
  assert.equal(taskOf({ spec: { dataset: { name: "mine.csv", task: "regression" } } }), "regression");
  assert.equal(taskOf({ spec: { dataset: { task: "regression" } } }, ["train_accuracy"]), "classification");
});

test("status messages, points and the Stop answer merge into the run", () => {
  const run = { id: 3, status: "running", progress: { iteration: 1, max_iterations: 9 } };
  assert.deepEqual(withHello(run, { status: "queued" }).status, "queued");
  const ended = withStatus(run, { status: "completed", finish_reason: "max-epochs", message: null });
  assert.equal(ended.status, "completed");
  assert.equal(ended.finish_reason, "max-epochs");
  assert.equal(withStatus(run, { status: "x", run: { id: 3, status: "failed" } }).status, "failed");
  const moved = withPoints(run, { seq: [4, 5], iteration: [7, 8], epoch: [2, 3], wall_time: [0, 0], values: {} });
  assert.deepEqual(moved.progress, { iteration: 8, max_iterations: 9, epoch: 3 });
  assert.equal(withPoints(run, { seq: [], iteration: [], epoch: [] }), run);
  // The script ended the run before Stop's (older) "running" answer was read.
  const stopped = withStopAnswer({ ...ended }, { status: "running", info: { stop_requested: true } });
  assert.equal(stopped.status, "completed");
  assert.equal(stopped.info.stop_requested, true);
  assert.equal(withStopAnswer(run, { status: "stopped" }).status, "stopped");
});

test("what the buttons allow, and the live word", () => {
  assert.deepEqual(actionsOf({ status: "running" }, false), { final: false, stopAsked: false, canStop: true, canResume: false });
  assert.equal(actionsOf({ status: "running", info: { stop_requested: true } }, true).canStop, false);
  assert.equal(actionsOf({ status: "stopped" }, false).canResume, true);
  assert.equal(liveWord("live", { status: "completed" }), "ended");
  assert.equal(liveWord("live", { status: "running" }), "live");
  assert.equal(liveWord("gone", { status: "running" }), "ended");
});

test("the info panel: last values from the points, the task's metric, a script's own rows", () => {
  const store = new ColumnStore({ seq: [1, 2], iteration: [10, 20], epoch: [1, 2], wall_time: [0, 1],
    values: { learn_rate: [0.1, 0.05], val_accuracy: [null, 0.875], test_accuracy: [null, 0.9] } });
  const run = { status: "completed", started_at: 100, ended_at: 165, progress: { max_iterations: 40 },
    spec: { dataset: { name: "spirals" }, model: { preset: "mlp" }, options: { max_epochs: 4, solver: "sgdm",
      initial_learn_rate: 0.1, mini_batch_size: 32 } }, best: { val_loss: 0.3, iteration: 20 } };
  const rows = Object.fromEntries(infoRows(run, store, { kind: "train", task: "classification", external: false }));
  assert.equal(rows.Epoch, "2 of 4");
  assert.equal(rows.Iteration, "20 of 40");
  assert.equal(rows.Elapsed, "1m 05s");
  assert.equal(rows["Learn rate"], "0.05");
  assert.equal(rows["Val accuracy"], "87.50%");
  assert.equal(rows["Test accuracy"], "90.00%");
  assert.equal(rows["Best val loss"], "0.3 (it. 20)");
  const script = Object.fromEntries(infoRows({ ...run, info: { client: { pid: 42 } } }, store,
    { kind: "train", task: "classification", external: true }));
  assert.equal(script["Logged by"], "a script");
  assert.equal(script.PID, 42);
  assert.equal(script.Step, "20 of 40");
  assert.equal(script.Dataset, undefined);
});

test("a script run's task comes from what it logs, not its info", () => {
  const run = { info: { task: "script" }, spec: { kind: "script" } };
  assert.equal(taskOf(run, ["train_loss", "val_rmse"]), "regression");
  assert.equal(taskOf(run, ["train_loss"]), "classification");
});
