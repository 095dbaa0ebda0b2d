// The server's contract as the browser reads it (DESIGN §6; backend/trainscope/schemas/
// messages.py and status.py are the other side, and tests/web/test_contract_js.py checks that
// the status sets here are those). Field names are the server's: no renaming on the way in.

/** Statuses a run ends in. */
export const FINAL_STATUSES = new Set(["completed", "stopped", "diverged", "failed", "interrupted"]);
/** Statuses of a run that has not ended. */
export const ACTIVE_STATUSES = new Set(["queued", "running"]);
/** Statuses a run can be resumed from. */
export const RESUMABLE_STATUSES = new Set(["stopped", "interrupted", "failed"]);

/**
 * @typedef {{seq: number, iteration: number, epoch: number, wall_time: number,
 *   values: Object<string, number|string>}} Point  non-finite values as "NaN", "Infinity"
 * @typedef {{seq: number[], iteration: number[], epoch: number[], wall_time: number[],
 *   values: Object<string, (number|string|null)[]>, last_seq: number}} Columns  as GET /metrics
 * @typedef {{type: "hello", run: Object}} HelloMessage  first on /ws/runs/{id}
 * @typedef {{type: "hello", runs: Object[]}} HelloRunsMessage  first on /ws/runs
 * @typedef {{type: "points", points: Point[]}} PointsMessage
 * @typedef {{type: "columns"} & Columns} ColumnsMessage  the backlog with ?encoding=columns
 * @typedef {{type: "status", status: string, finish_reason: string|null, message: string|null,
 *   run: Object}} StatusMessage
 * @typedef {{type: "progress", id: number, progress: {iteration: number, epoch: number},
 *   last_seq: number, latest: Object<string, number|string>,
 *   best: Object<string, number|string>|null}} ProgressMessage  best: the server's rule
 * @typedef {{type: "findings", findings: Object[]}} FindingsMessage
 * @typedef {{type: "logs", lines: {n: number, stream: "stdout"|"stderr", text: string}[]}} LogsMessage
 * @typedef {{type: "deleted", id: number}} DeletedMessage
 * @typedef {{type: "resync"}} ResyncMessage  fell behind: fetch GET /metrics?after_seq= and go on
 * @typedef {{type: "error", message: string}} ErrorMessage
 */
