// branching.js: the epoch a click offers, a branch's history windows, a run's branches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { branchEpochAt, branchesOf, historyWindows, originOf, rowAtX } from "../../frontend/js/branching.js";

test("a click offers the nearest epoch with a checkpoint at or before it", () => {
  const epochs = [1, 2, 4, 8, 9];
  assert.equal(branchEpochAt(epochs, 4), 4);
  assert.equal(branchEpochAt(epochs, 7), 4); // epochs 5-7 were thinned
  assert.equal(branchEpochAt(epochs, 30), 9);
  assert.equal(branchEpochAt(epochs, 0), null); // nothing before the first checkpoint
  assert.equal(branchEpochAt([], 3), null);
  assert.equal(branchEpochAt(undefined, 3), null);
});

test("rowAtX finds the nearest row by x, at the edges too", () => {
  const xs = [1, 2, 3, 10, 11];
  const at = (x) => rowAtX(xs.length, (i) => xs[i], x);
  assert.equal(at(2), 1);
  assert.equal(at(6), 2); // 3 is nearer than 10
  assert.equal(at(7), 3);
  assert.equal(at(-5), 0);
  assert.equal(at(99), 4);
  assert.equal(rowAtX(0, () => 0, 3), -1);
});

test("a branch's history is one seq window per ancestor, each starting where the last ended", () => {
  assert.deepEqual(historyWindows([{ run_id: 1, epoch: 2, until_seq: 70 }, { run_id: 5, epoch: 4, until_seq: 140 }]), [
    { runId: 1, epoch: 2, after_seq: 0, before_seq: 71 },
    { runId: 5, epoch: 4, after_seq: 70, before_seq: 141 },
  ]);
  assert.deepEqual(historyWindows([]), []);
  assert.deepEqual(historyWindows(undefined), []);
});

test("a run's origin and its branches", () => {
  assert.deepEqual(originOf({ parent_id: 3, spec: { branch: { run_id: 3, epoch: 2 } } }), { runId: 3, epoch: 2, kind: "branch" });
  assert.deepEqual(originOf({ parent_id: 3, spec: {} }), { runId: 3, epoch: null, kind: "restart" });
  assert.equal(originOf({ parent_id: null, spec: {} }), null);
  const runs = [{ id: 9, spec: { branch: { run_id: 1, epoch: 3 } } }, { id: 4, parent_id: 1, spec: {} },
    { id: 6, spec: { branch: { run_id: 1, epoch: 2 } } }, { id: 7, spec: { branch: { run_id: 6, epoch: 4 } } }];
  assert.deepEqual(branchesOf(runs, 1).map((r) => r.id), [6, 9]);
  assert.deepEqual(branchesOf(new Map(runs.map((r) => [r.id, r])).values(), 6).map((r) => r.id), [7]);
});
