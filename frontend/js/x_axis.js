// What a chart's x axis shows: iterations, epochs (iterations / iterations per epoch when that
// is known, else the epoch column) or seconds since the first point. Shared by the run page and
// the compare overlay. Pure.

export const X_MODES = ["iteration", "epoch", "time"];

const TITLES = { iteration: "Iteration", epoch: "Epoch", time: "Time (s)" };

/** The axis title of an x mode. */
export function xTitle(mode) { return TITLES[mode] ?? TITLES.iteration; }

/**
 * A function i → x of row i of `cols` (columnar: iteration, epoch, wall_time) in `mode`;
 * ipe: iterations per epoch (null when unknown).
 */
export function xMapper(cols, mode, ipe = null) {
  if (mode === "epoch") return ipe ? (i) => cols.iteration[i] / ipe : (i) => cols.epoch[i];
  if (mode === "time") return (i) => cols.wall_time[i] - cols.wall_time[0];
  return (i) => cols.iteration[i];
}
