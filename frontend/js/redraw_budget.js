// The frame-budgeted redraw scheduler shared by the run page's charts.
//
// A round of redraws brings every chart that is behind up to the same row, one chart per
// animation frame; after a round that took d ms the next waits d / DUTY. On this kind of
// machine a Plotly redraw costs 10-25 ms whatever it adds, so redrawing on every websocket
// batch would spend every frame in Plotly (the first version did: 146 ms frames with one tab).
// Budgeted, the page stays at 60 frames a second and the curves still move about once a second
// even with ten pages streaming on two cores. Hidden tabs get no frames, so they draw nothing
// until shown. Knows nothing of Plotly: the owner says what is behind and draws it.

export const DUTY = 0.05; // share of the main thread live redraws may take
export const MIN_GAP_MS = 50;

export class RedrawBudget {
  /**
   * size() → rows held; behind(end) → keys of the charts that have not drawn up to `end`;
   * draw(key, end) draws one chart up to `end`; onRound() after every finished round.
   * frame, now, later: requestAnimationFrame, performance.now, setTimeout (replaceable in tests).
   */
  constructor({ size, behind, draw, onRound = () => {}, frame = (fn) => requestAnimationFrame(fn),
    now = () => performance.now(), later = (fn, ms) => setTimeout(fn, ms), duty = DUTY, minGap = MIN_GAP_MS }) {
    Object.assign(this, { size, behind, draw, onRound, frame, now, later, duty, minGap });
    this.active = false; // the owner's first full draw happened
    this.disposed = false;
    this.pending = false;
    this.round = null; // {end, keys, spent}: the round in progress
    this.nextAt = 0;
  }

  /** Ask for a round (at most one is waiting at any time). */
  schedule() {
    if (this.pending || this.disposed) return;
    this.pending = true;
    const go = () => this.frame(() => this.tick());
    const wait = this.nextAt - this.now();
    if (wait > 0) this.later(go, wait); else go();
  }

  /** Drop the round in progress (everything was just drawn from scratch). */
  reset() { this.round = null; }

  dispose() { this.disposed = true; }

  /** One chart of the round per frame. */
  tick() {
    this.pending = false;
    if (this.disposed || !this.active) return;
    if (!this.round) {
      const end = this.size();
      const keys = this.behind(end);
      if (!keys.length) return;
      this.round = { end, keys, spent: 0 };
    }
    const round = this.round;
    const t0 = this.now();
    try { this.draw(round.keys.shift(), round.end); } catch (err) { console.error(err); } // eslint-disable-line no-console
    round.spent += this.now() - t0;
    if (round.keys.length) { // the next chart in the next frame
      this.pending = true;
      this.frame(() => this.tick());
      return;
    }
    this.round = null;
    this.nextAt = this.now() + Math.max(this.minGap, round.spent / this.duty);
    this.onRound();
    if (this.behind(this.size()).length) this.schedule();
  }
}
