// Branching a run from an epoch, the pure parts: which epoch a click on a chart offers (the
// nearest one at or before it that has a checkpoint), which rows of which ancestors are a
// branch's history (GET /api/runs/{id} `lineage`), and which runs are branches of a run.
// No DOM, no Plotly.

/** The epoch to branch from for a wish to branch at `epoch`: the largest of `epochs` (the
 *  run's branchable_epochs) at or before it; null when none is. */
export function branchEpochAt(epochs, epoch) {
  let best = null;
  for (const e of epochs || []) if (e <= epoch && (best === null || e > best)) best = e;
  return best;
}

/** Row index of n rows (x ascending, row i at xOf(i)) nearest to x; -1 when there are none. */
export function rowAtX(n, xOf, x) {
  if (!n) return -1;
  let lo = 0, hi = n - 1;
  while (lo < hi) { // the first row with xOf(row) >= x
    const mid = (lo + hi) >> 1;
    if (xOf(mid) < x) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(xOf(lo - 1) - x) <= Math.abs(xOf(lo) - x)) return lo - 1;
  return lo;
}

/** A branch's lineage → the metrics windows to fetch, oldest first: each ancestor's points
 *  with after_seq < seq < before_seq (GET /api/runs/{runId}/metrics takes both). */
export function historyWindows(lineage) {
  let after = 0;
  return (lineage || []).map(({ run_id: runId, epoch, until_seq: until }) => {
    const w = { runId, epoch, after_seq: after, before_seq: until + 1 };
    after = until;
    return w;
  });
}

/** Where a run came from, in words for its page: "branched from run 3 at epoch 2",
 *  "restarted from run 3", or null. */
export function originOf(run) {
  const b = run?.spec?.branch;
  if (b && b.run_id) return { runId: b.run_id, epoch: b.epoch, kind: "branch" };
  if (run?.parent_id) return { runId: run.parent_id, epoch: null, kind: "restart" };
  return null;
}

/** The direct branches of run `id` among `runs` (an iterable of run JSON), oldest first. */
export function branchesOf(runs, id) {
  return [...runs].filter((r) => r.spec?.branch?.run_id === id).sort((a, b) => a.id - b.id);
}
