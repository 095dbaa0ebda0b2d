// A run's points as columns, the one shape every chart reads: what GET /api/runs/{id}/metrics
// answers and what the run websocket sends with encoding=columns. Field names are the server's
// (seq, iteration, epoch, wall_time, values[name]); a value column holds numbers (NaN and
// ±Infinity included, decoded from the JSON strings) and null where that point lacks it.
// Pure: no DOM, no Plotly.

import { toNum } from "./format.js";
import { lowerBound } from "./series.js";

/** An empty columnar body. */
export function emptyColumns() { return { seq: [], iteration: [], epoch: [], wall_time: [], values: {} }; }

/** Websocket `points` rows ({seq, iteration, epoch, wall_time, values}) → one columnar body
 *  (what a server that ignores encoding=columns still sends). */
export function rowsToColumns(points) {
  const body = emptyColumns();
  points.forEach((p, i) => {
    body.seq.push(p.seq); body.iteration.push(p.iteration); body.epoch.push(p.epoch);
    body.wall_time.push(p.wall_time);
    for (const [k, v] of Object.entries(p.values || {})) {
      if (!body.values[k]) body.values[k] = new Array(i).fill(null);
      body.values[k].push(v);
    }
    for (const arr of Object.values(body.values)) if (arr.length < i + 1) arr.push(null);
  });
  return body;
}

/** The rows of a columnar body whose seq is above `seq` (the body itself when all are). */
export function columnsAfter(body, seq) {
  const from = lowerBound(body.seq, seq + 1);
  if (from === 0) return body;
  const cut = (a) => a.slice(from);
  return { ...body, seq: cut(body.seq), iteration: cut(body.iteration), epoch: cut(body.epoch),
    wall_time: cut(body.wall_time),
    values: Object.fromEntries(Object.entries(body.values || {}).map(([k, a]) => [k, cut(a)])) };
}

export class ColumnStore {
  constructor(body = null) {
    this.clear();
    if (body) this.splice(0, 0, body);
  }

  clear() { Object.assign(this, emptyColumns()); }

  get size() { return this.seq.length; }

  /** The value names, in the order their first values arrived. */
  names() { return Object.keys(this.values); }

  has(name) { return Boolean(this.values[name]); }

  /** The last epoch held (0 when none). */
  maxEpoch() { return this.epoch.length ? this.epoch[this.epoch.length - 1] : 0; }

  lastSeq() { return this.seq.length ? this.seq[this.seq.length - 1] : null; }

  /** The last non-null value of `name` (undefined when it has none). */
  last(name) {
    const arr = this.values[name];
    if (arr) for (let i = arr.length - 1; i >= 0; i--) if (arr[i] !== null) return arr[i];
    return undefined;
  }

  /** Append a columnar body's rows. */
  append(body) { this.splice(this.size, this.size, body); }

  /** Replace rows [from, to) with a columnar body's rows (a zoomed window's detail). */
  splice(from, to, body) {
    const n = body.seq.length;
    const del = to - from;
    this.seq.splice(from, del, ...body.seq);
    this.iteration.splice(from, del, ...body.iteration);
    this.epoch.splice(from, del, ...body.epoch);
    this.wall_time.splice(from, del, ...body.wall_time);
    const src = body.values || {};
    for (const k of new Set([...Object.keys(this.values), ...Object.keys(src)])) {
      if (!this.values[k]) this.values[k] = new Array(this.seq.length - n).fill(null);
      const rows = src[k] ? src[k].map(toNum) : new Array(n).fill(null);
      this.values[k].splice(from, del, ...rows);
    }
  }
}
