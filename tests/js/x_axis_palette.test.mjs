// x_axis.js and palette.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X_MODES, xMapper, xTitle } from "../../frontend/js/x_axis.js";
import { COLORS, ROLE, SEVERITY, seriesColor } from "../../frontend/js/palette.js";

const cols = { iteration: [10, 20, 30], epoch: [1, 1, 2], wall_time: [1000.5, 1001.5, 1003] };

test("x in iterations, epochs (by iterations per epoch when known) and seconds from the start", () => {
  const all = (f) => [0, 1, 2].map(f);
  assert.deepEqual(all(xMapper(cols, "iteration")), [10, 20, 30]);
  assert.deepEqual(all(xMapper(cols, "epoch", 20)), [0.5, 1, 1.5]);
  assert.deepEqual(all(xMapper(cols, "epoch", null)), [1, 1, 2]);
  assert.deepEqual(all(xMapper(cols, "time")), [0, 1, 2.5]);
});

test("axis titles", () => {
  assert.deepEqual(X_MODES.map(xTitle), ["Iteration", "Epoch", "Time (s)"]);
  assert.equal(xTitle("nonsense"), "Iteration");
});

test("the palette: series colours wrap, every colour is a colour", () => {
  assert.equal(seriesColor(0), COLORS[0]);
  assert.equal(seriesColor(COLORS.length + 2), COLORS[2]);
  assert.equal(new Set(COLORS).size, COLORS.length);
  for (const c of [...COLORS, ...Object.values(SEVERITY)]) assert.match(c, /^#[0-9a-f]{6}$/);
  for (const c of Object.values(ROLE)) assert.match(c, /^(#[0-9a-f]{3,6}|rgba\()/);
  assert.notEqual(ROLE.accuracy, ROLE.loss);
});
