// series.js: smoothing, decimation, the finite x/y of a metric.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Smoother, finiteXY, lowerBound, minMaxIndices, nonFiniteWord, pick } from "../../frontend/js/series.js";

test("the smoother is debiased: a constant series stays that constant from its first point", () => {
  const sm = new Smoother(0.9);
  assert.deepEqual([5, 5, 5].map((v) => sm.push(v)), [5, 5, 5]);
});

test("beta 0 is no smoothing; a step is approached, never overshot", () => {
  const raw = new Smoother(0);
  assert.deepEqual([1, 7, 3].map((v) => raw.push(v)), [1, 7, 3]);
  const sm = new Smoother(0.5);
  const out = [0, 0, 10, 10, 10].map((v) => sm.push(v));
  assert.equal(out[1], 0);
  assert.ok(out[2] > 0 && out[2] < out[3] && out[3] < out[4] && out[4] < 10);
});

test("minMaxIndices keeps every index that fits, and a spike when decimating", () => {
  assert.equal(minMaxIndices([1, 2, 3], 10), null);
  const y = Array.from({ length: 10000 }, (_, i) => Math.sin(i / 50));
  y[6789] = 1000;
  const idx = minMaxIndices(y, 500);
  assert.ok(idx.length <= 502, `${idx.length} indices`);
  assert.ok(idx.includes(6789), "the spike is kept");
  assert.equal(idx[0], 0);
  assert.equal(idx[idx.length - 1], y.length - 1);
  assert.deepEqual([...idx].sort((a, b) => a - b), idx, "in index order");
});

test("minMaxIndices keeps a zoomed-in window whole", () => {
  const y = Array.from({ length: 10000 }, (_, i) => i % 7);
  const idx = minMaxIndices(y, 1000, [4000, 4200]);
  for (let i = 4000; i < 4200; i++) assert.ok(idx.includes(i));
});

test("pick and lowerBound", () => {
  assert.deepEqual(pick(["a", "b", "c"], [2, 0]), ["c", "a"]);
  const arr = ["x"];
  assert.equal(pick(arr, null), arr);
  assert.equal(lowerBound([1, 3, 5, 7], 5), 2);
  assert.equal(lowerBound([1, 3, 5, 7], 6), 3);
  assert.equal(lowerBound([1, 3, 5, 7], 100), 4);
  assert.equal(lowerBound([], 1), 0);
});

test("finiteXY: finite values only, scaled, absent skipped, non-finite reported", () => {
  const bad = [];
  const col = [0.5, null, NaN, "Infinity", 0.25, "0.75"];
  const xy = finiteXY(col, (i) => i * 10, { scale: 100, onBad: (i, v) => bad.push([i, v]) });
  assert.deepEqual(xy, { x: [0, 40, 50], y: [50, 25, 75] });
  assert.deepEqual(bad, [[2, NaN], [3, Infinity]]);
});

test("finiteXY over a window of rows, a missing column, and rows without an x", () => {
  assert.deepEqual(finiteXY([1, 2, 3, 4], (i) => i, { start: 1, end: 3 }), { x: [1, 2], y: [2, 3] });
  assert.deepEqual(finiteXY(undefined, (i) => i), { x: [], y: [] });
  assert.deepEqual(finiteXY([1, 2, 3], (i) => (i === 1 ? null : i)), { x: [0, 2], y: [1, 3] });
});

test("nonFiniteWord names what a person sees", () => {
  assert.equal(nonFiniteWord(NaN), "NaN");
  assert.equal(nonFiniteWord(Infinity), "Infinity");
  assert.equal(nonFiniteWord(-Infinity), "-Infinity");
});
