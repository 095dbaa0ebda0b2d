// chart_marks.js (epoch bands, finding markers) and format.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { epochBands, findingMarks, marksKey, severityColor } from "../../frontend/js/chart_marks.js";
import { SEVERITY } from "../../frontend/js/palette.js";
import { flatten, fmtDuration, fmtNum, fmtPct, fmtReason, metricLabel, toNum, withAlpha } from "../../frontend/js/format.js";

function fakeCharts(epochs, { xMode = "iteration", ipe = null } = {}) {
  const iteration = epochs.map((_, i) => i + 1);
  return { store: { epoch: epochs }, xMode, ipe, size: epochs.length, x: (i) => iteration[i] };
}

test("alternate epochs are shaded: epoch 2 and 4 of 4, by iterations per epoch", () => {
  const bands = epochBands(fakeCharts([1, 1, 2, 2, 3, 3, 4, 4], { ipe: 2 }));
  assert.deepEqual(bands.map((b) => [b.x0, b.x1]), [[2, 4], [6, 8]]);
});

test("without iterations per epoch the bands start where each epoch's first point is", () => {
  const bands = epochBands(fakeCharts([1, 1, 2, 2, 2, 3]));
  assert.deepEqual(bands.map((b) => [b.x0, b.x1]), [[3, 6]]);
  assert.deepEqual(epochBands(fakeCharts([])), []);
});

test("findings become a line and a label at their iteration, coloured by severity", () => {
  const findings = [{ code: "loss-plateau", severity: "warning", iteration: 40, message: "flat" },
    { code: "no-iteration", severity: "info" }, { code: "gone", severity: "critical", iteration: 5 }];
  const { shapes, annotations } = findingMarks(findings, (it) => (it === 5 ? null : it * 2), [0, 100]);
  assert.equal(shapes.length, 1);
  assert.equal(shapes[0].x0, 80);
  assert.equal(shapes[0].line.color, SEVERITY.warning);
  assert.equal(annotations[0].text, "loss-plateau");
  assert.equal(annotations[0].hovertext, "flat");
  assert.equal(annotations[0].xanchor, "left");
  const right = findingMarks([{ code: "late", severity: "ok", iteration: 95 }], (it) => it, [0, 100]);
  assert.equal(right.annotations[0].xanchor, "right");
  assert.equal(marksKey(findings), "loss-plateau:warning:40|gone:critical:5");
  assert.equal(severityColor("nonsense"), SEVERITY.info);
});

test("format: numbers as people read them", () => {
  assert.equal(toNum("NaN") !== toNum("NaN"), true);
  assert.equal(toNum(null), null);
  assert.equal(toNum("-Infinity"), -Infinity);
  assert.equal(fmtNum(0.000123), "1.23e-4");
  assert.equal(fmtNum(12), "12");
  assert.equal(fmtNum(0.123456), "0.1235");
  assert.equal(fmtNum("Infinity"), "∞");
  assert.equal(fmtNum(null), "—");
  assert.equal(fmtPct(0.5), "50.0%");
  assert.equal(fmtDuration(3725), "1h 02m 05s");
  assert.equal(fmtDuration(65), "1m 05s");
  assert.equal(fmtDuration(null), "—");
  assert.equal(fmtReason({ status: "stopped" }), "stopped by request");
  assert.equal(fmtReason({ finish_reason: "max-epochs" }), "reached max epochs");
  assert.deepEqual(flatten({ a: { b: 1, c: [1, 2] }, d: null }), { "a.b": 1, "a.c": [1, 2], d: null });
  assert.equal(metricLabel("val_rmse"), "val RMSE");
  assert.equal(metricLabel("my_custom_metric"), "my custom metric");
  assert.equal(withAlpha("#102030", 0.5), "rgba(16, 32, 48, 0.5)");
});
