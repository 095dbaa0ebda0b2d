// redraw_budget.js: one chart per frame, then a pause of the round's cost / DUTY.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DUTY, MIN_GAP_MS, RedrawBudget } from "../../frontend/js/redraw_budget.js";

function harness(costMs) {
  let clock = 0;
  const frames = [], timers = [], drawn = [];
  const upTo = { a: 0, b: 0 };
  let size = 0;
  const budget = new RedrawBudget({
    size: () => size,
    behind: (end) => Object.keys(upTo).filter((k) => upTo[k] < end),
    draw: (key, end) => { clock += costMs; drawn.push([key, end, clock]); upTo[key] = end; },
    frame: (fn) => frames.push(fn),
    now: () => clock,
    later: (fn, ms) => timers.push([fn, clock + ms]),
  });
  return {
    budget, drawn, frames, timers, upTo,
    grow(n) { size += n; },
    nextFrame() { frames.shift()(); },
    fireTimer() { const [fn, at] = timers.shift(); clock = Math.max(clock, at); fn(); },
    get clock() { return clock; },
  };
}

test("nothing is drawn before the owner's first full draw", () => {
  const h = harness(10);
  h.grow(5);
  h.budget.schedule();
  h.nextFrame();
  assert.deepEqual(h.drawn, []);
});

test("a round draws one chart per frame up to the same row, then waits cost / DUTY", () => {
  const h = harness(10);
  h.budget.active = true;
  h.grow(5);
  h.budget.schedule();
  h.budget.schedule(); // at most one request waits
  assert.equal(h.frames.length, 1);
  h.nextFrame();
  assert.deepEqual(h.drawn.map(([k, e]) => [k, e]), [["a", 5]]);
  h.grow(3); // arrives mid-round: the round still ends at row 5
  h.nextFrame();
  assert.deepEqual(h.drawn.map(([k, e]) => [k, e]), [["a", 5], ["b", 5]]);
  // Behind again (rows 5-8): the next round waits 20 ms / DUTY, not a frame.
  assert.equal(h.frames.length, 0);
  assert.equal(h.timers.length, 1);
  assert.equal(h.timers[0][1] - h.clock, 20 / DUTY);
  h.fireTimer();
  h.nextFrame(); h.nextFrame();
  assert.deepEqual(h.upTo, { a: 8, b: 8 });
});

test("cheap rounds still leave MIN_GAP_MS between them; dispose stops everything", () => {
  const h = harness(0);
  h.budget.active = true;
  h.grow(1);
  h.budget.schedule();
  h.nextFrame(); h.nextFrame();
  h.grow(1);
  h.budget.schedule();
  assert.equal(h.timers[0][1] - h.clock, MIN_GAP_MS);
  h.budget.dispose();
  h.fireTimer();
  assert.equal(h.frames.length, 1);
  h.nextFrame();
  assert.deepEqual(h.upTo, { a: 1, b: 1 });
});
