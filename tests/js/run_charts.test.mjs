// RunCharts with its plug-ins, against a recording stand-in for Plotly (no browser): the
// accuracy, loss and learn-rate charts are plug-ins like the rest, a metric of any name gets
// a panel, live points extend the traces.
import { test } from "node:test";
import assert from "node:assert/strict";

const calls = [];
globalThis.window = globalThis;
globalThis.Plotly = {
  react(el, data, layout) { el.data = data.map((t) => ({ ...t, x: [...t.x], y: [...t.y] })); el.layout = layout; calls.push(["react", el.id]); },
  extendTraces(el, upd, idx) {
    idx.forEach((j, k) => { el.data[j].x.push(...upd.x[k]); el.data[j].y.push(...upd.y[k]); });
    calls.push(["extend", el.id]);
  },
  relayout(el, upd) { el.layout = { ...el.layout, ...upd }; calls.push(["relayout", el.id]); return Promise.resolve(); },
  purge(el) { el.data = undefined; },
};

const { RunCharts } = await import("../../frontend/js/run_charts.js");
const { CurveChart, LearnRateChart, LOSS, QUALITY } = await import("../../frontend/js/training_charts.js");
const { OtherMetricsChart } = await import("../../frontend/js/other_metrics_chart.js");
const { UpdateRatioChart } = await import("../../frontend/js/update_ratio_chart.js");
const { taskOf } = await import("../../frontend/js/views/run_state.js");

const div = (id) => ({ id, hidden: false, textContent: "" });
const names = (el) => Object.fromEntries(el.data.map((t) => [t.name, t.y.length]));

function page() {
  const charts = new RunCharts({ runId: 1 });
  const els = { acc: div("acc"), loss: div("loss"), lr: div("lr"), ratio: div("ratio"), other: div("other") };
  charts.add("acc", new CurveChart(els.acc, { metric: () => QUALITY[taskOf({}, charts.store.names())] }));
  charts.add("loss", new CurveChart(els.loss, { metric: () => LOSS, marks: true, logY: true }));
  charts.add("lr", new LearnRateChart(els.lr));
  charts.add("ratio", new UpdateRatioChart(els.ratio, div("ratio-wrap")));
  const wrap = div("other-wrap");
  charts.add("other", new OtherMetricsChart(els.other, wrap, div("note")));
  return { charts, els, wrap };
}

const rows = (from, n, values) => ({
  seq: Array.from({ length: n }, (_, i) => from + i), iteration: Array.from({ length: n }, (_, i) => from + i),
  epoch: Array.from({ length: n }, () => 1), wall_time: Array.from({ length: n }, (_, i) => i),
  values: Object.fromEntries(Object.entries(values).map(([k, f]) => [k, Array.from({ length: n }, (_, i) => f(from + i))])),
});

test("a script's metrics of any name get a panel each; the known ones go to their charts", async () => {
  const { charts, els, wrap } = page();
  await charts.load(rows(1, 20, { train_loss: (i) => 1 / i, train_accuracy: (i) => i / 20, learn_rate: () => 0.1,
    ppl: (i) => 100 / i, bleu: (i) => i, reward: (i) => (i % 4 ? null : -i), "update_ratio/fc1": () => 1e-3 }));
  assert.equal(wrap.hidden, false);
  assert.deepEqual(els.other.data.filter((t) => t.name !== "x extent").map((t) => [t.name, t.y.length]),
    [["ppl", 20], ["bleu", 20], ["reward", 5]]);
  assert.equal(names(els.loss)["Training loss (smoothed)"], 20);
  assert.equal(names(els.acc)["Training accuracy (smoothed)"], 20);
  assert.equal(els.acc.data[0].y[19], 100, "accuracy drawn in %");
  assert.equal(names(els.lr)["Learn rate"], 20);
  assert.deepEqual(els.ratio.data.map((t) => t.name), ["fc1", "x extent"]);
});

test("a regression run's RMSE is told by its metric names; NaN is marked, not drawn", async () => {
  const { charts, els, wrap } = page();
  await charts.load(rows(1, 10, { train_loss: (i) => (i === 7 ? "NaN" : 1), train_rmse: () => 0.5 }));
  assert.equal(els.acc.layout.yaxis.title.text, "RMSE");
  assert.equal(names(els.loss)["Training loss (per iteration)"], 9);
  const bad = els.loss.data.find((t) => t.name === "NaN / Inf");
  assert.deepEqual(bad.x, [7]);
  assert.equal(bad.text[0], "NaN train_loss at iteration 7");
  assert.equal(wrap.hidden, true, "nothing unclaimed: no other-metrics panel");
});

test("live points extend every chart within the redraw budget; a new name redraws its chart", async () => {
  const { charts, els } = page();
  globalThis.requestAnimationFrame = (fn) => setTimeout(fn, 0);
  await charts.load(rows(1, 5, { train_loss: () => 1, ppl: () => 3 }));
  calls.length = 0;
  charts.append(rows(6, 5, { train_loss: () => 2, ppl: () => 4, reward: () => 1 }));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(charts.drawnSize, 10);
  assert.equal(names(els.loss)["Training loss (smoothed)"], 10);
  assert.ok(calls.some(([op, id]) => op === "extend" && id === "loss"), "the loss chart was extended, not redrawn");
  assert.deepEqual(els.other.data.filter((t) => t.name !== "x extent").map((t) => [t.name, t.y.length]),
    [["ppl", 10], ["reward", 5]]);
  charts.dispose();
});

test("a branch's history and a run's branches are drawn after its own traces; live points extend its own", async () => {
  const { charts, els } = page();
  const history = rows(1, 10, { train_loss: () => 2, learn_rate: () => 0.1 });
  charts.setHistory([{ runId: 7, epoch: 1, body: history }]);
  await charts.load(rows(11, 5, { train_loss: () => 1, learn_rate: () => 0.01 }));
  const loss = () => els.loss.data.map((t) => [t.meta?.history ?? t.meta?.branch ?? null, t.x.length]);
  assert.deepEqual(loss().slice(0, 4).map(([m]) => m), [null, null, null, null], "own traces first: drawNew extends 0-3");
  assert.deepEqual(loss().slice(4), [[7, 10], [7, 0]]); // history: smoothed train, validation
  assert.deepEqual(els.loss.data[4].x, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(els.lr.data[1].y, Array(10).fill(0.1));

  charts.append(rows(16, 3, { train_loss: () => 1, learn_rate: () => 0.01 }));
  for (const key of charts.plugins.keys()) charts.drawNew(key, charts.size);
  assert.equal(els.loss.data[0].x.length, 8, "live points go to the run's own curve");
  assert.equal(els.loss.data[4].x.length, 10, "the history is left as it was");

  // A click on the history names its run and epoch; on the run's own curve, this run.
  assert.deepEqual(charts.pointAt(4, 7), { runId: 7, epoch: 1 });
  assert.deepEqual(charts.pointAt(12), { runId: 1, epoch: 1 });

  charts.setBranches([{ runId: 9, epoch: 1, body: rows(11, 4, { train_loss: () => 3 }) }]);
  assert.deepEqual(loss().slice(6), [[9, 4], [9, 0]]);
  charts.setShowBranches(false);
  assert.deepEqual(loss().slice(4).map(([m]) => m), [7, 7], "the toggle hides the branches, not the history");
  charts.setXMode("time");
  assert.deepEqual(loss().slice(4).map(([, n]) => n), [0, 0], "no history on the time axis");
});
