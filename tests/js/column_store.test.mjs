// column_store.js: the one shape every chart reads, from REST bodies and websocket messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ColumnStore, columnsAfter, emptyColumns, rowsToColumns } from "../../frontend/js/column_store.js";

const body = (seqs, values) => ({ seq: seqs, iteration: seqs.map((s) => s * 10), epoch: seqs.map(() => 1),
  wall_time: seqs.map((s) => 100 + s), values });

test("rows from a server without encoding=columns become one columnar body, gaps as null", () => {
  const cols = rowsToColumns([
    { seq: 1, iteration: 1, epoch: 1, wall_time: 5, values: { train_loss: 2 } },
    { seq: 2, iteration: 2, epoch: 1, wall_time: 6, values: { train_loss: 1.5, val_loss: "NaN" } },
    { seq: 3, iteration: 3, epoch: 2, wall_time: 7, values: { ppl: 40 } },
  ]);
  assert.deepEqual(cols, { seq: [1, 2, 3], iteration: [1, 2, 3], epoch: [1, 1, 2], wall_time: [5, 6, 7],
    values: { train_loss: [2, 1.5, null], val_loss: [null, "NaN", null], ppl: [null, null, 40] } });
  assert.deepEqual(rowsToColumns([]), emptyColumns());
});

test("columnsAfter drops the rows already delivered", () => {
  const b = body([4, 5, 6], { a: [1, 2, 3] });
  assert.equal(columnsAfter(b, 3), b);
  const after5 = columnsAfter(b, 5);
  assert.deepEqual(after5.seq, [6]);
  assert.deepEqual(after5.iteration, [60]);
  assert.deepEqual(after5.values, { a: [3] });
  assert.deepEqual(columnsAfter(b, 9).seq, []);
});

test("the store decodes non-finite values, keeps names in order of arrival, pads new names", () => {
  const s = new ColumnStore(body([1, 2], { train_loss: [1, "NaN"] }));
  s.append(body([3], { train_loss: ["Infinity"], bleu: [0.3] }));
  assert.equal(s.size, 3);
  assert.deepEqual(s.names(), ["train_loss", "bleu"]);
  assert.ok(Number.isNaN(s.values.train_loss[1]));
  assert.equal(s.values.train_loss[2], Infinity);
  assert.deepEqual(s.values.bleu, [null, null, 0.3]);
  assert.deepEqual(s.iteration, [10, 20, 30]);
  assert.equal(s.lastSeq(), 3);
  assert.equal(s.maxEpoch(), 1);
  assert.ok(s.has("bleu") && !s.has("reward"));
});

test("last() is the last value logged, and splice() fills a downsampled window in", () => {
  const s = new ColumnStore(body([1, 5, 9], { loss: [3, 2, null] }));
  assert.equal(s.last("loss"), 2);
  assert.equal(s.last("nothing"), undefined);
  s.splice(1, 2, body([2, 3, 4, 5, 6], { loss: [2.9, 2.8, 2.7, 2.6, 2.5] }));
  assert.deepEqual(s.seq, [1, 2, 3, 4, 5, 6, 9]);
  assert.deepEqual(s.values.loss, [3, 2.9, 2.8, 2.7, 2.6, 2.5, null]);
  assert.equal(new ColumnStore().size, 0);
});
