// Websocket clients. Both reconnect with exponential backoff. RunStream resumes from the last
// seq it delivered, so across reconnects and resyncs every point arrives exactly once and in order.

import { api } from "./api.js";
import { columnsAfter, rowsToColumns } from "./column_store.js";

function wsUrl(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}`;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

class Reconnecting {
  constructor() {
    this.ws = null;
    this.closed = false;
    this.attempt = 0;
    this.timer = null;
  }

  url() { throw new Error("abstract"); }
  onMessage() {}
  onState() {}
  /** Close codes after which retrying makes no sense (4404: no such run). */
  fatal(code) { return code === 4404; }

  open() {
    if (this.closed) return;
    const ws = new WebSocket(wsUrl(this.url()));
    this.ws = ws;
    ws.addEventListener("message", (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === "hello") this.attempt = 0;
      this.onMessage(msg);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      if (this.fatal(ev.code)) { this.onState("gone"); return; }
      this.onState("reconnecting");
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
      this.attempt += 1;
      // A little jitter so many tabs do not hammer a restarted server in lockstep.
      this.timer = setTimeout(() => this.open(), delay * (0.8 + Math.random() * 0.4));
    });
    ws.addEventListener("error", () => { /* close follows; handled there */ });
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
  }
}

/**
 * One run's live feed. handlers: hello(run), columns(body), status(msg), findings(list), logs(lines),
 * artefact(name), deleted(), state("live"|"reconnecting"|"gone"). Points reach columns() as a
 * columnar body (the shape of GET /api/runs/{id}/metrics): the socket asks for
 * encoding=columns; a server that still sends `points` rows has them turned into columns here,
 * and a resync's REST pages are passed on as they come.
 */
export class RunStream extends Reconnecting {
  constructor(runId, lastSeq, handlers) {
    super();
    this.runId = runId;
    this.lastSeq = lastSeq; // the last seq delivered to handlers.columns
    this.handlers = handlers;
    this.resyncing = false;
    this.pending = []; // columnar bodies that arrived while a resync fetch was in flight
    this.open();
  }

  url() { return `/ws/runs/${this.runId}?after_seq=${this.lastSeq}&encoding=columns`; }

  /** Pass on the rows of `body` not delivered yet. */
  deliver(body) {
    const fresh = columnsAfter(body, this.lastSeq);
    if (!fresh.seq.length) return;
    this.lastSeq = fresh.seq[fresh.seq.length - 1];
    this.handlers.columns?.(fresh);
  }

  async resync() {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      for (;;) {
        const body = await api.metrics(this.runId, { after_seq: this.lastSeq, limit: 50000 });
        this.deliver(body);
        if (!body.has_more || body.seq.length === 0) break;
      }
    } catch (err) {
      // The socket will be reconnected from lastSeq, which is as good as a resync.
      console.warn("resync failed:", err.message); // eslint-disable-line no-console
      if (this.ws) this.ws.close();
    } finally {
      this.resyncing = false;
      const queued = this.pending;
      this.pending = [];
      for (const body of queued) this.deliver(body);
    }
  }

  /** Points in either encoding → a columnar body, delivered or held during a resync. */
  received(body) {
    if (this.resyncing) this.pending.push(body);
    else this.deliver(body);
  }

  onMessage(msg) {
    const hd = this.handlers;
    switch (msg.type) {
      case "hello": hd.state?.("live"); hd.hello?.(msg.run); break;
      case "columns": { const { type, ...body } = msg; this.received(body); break; } // eslint-disable-line no-unused-vars
      case "points": this.received(rowsToColumns(msg.points)); break;
      case "resync": this.resync(); break;
      case "status": hd.status?.(msg); break;
      case "findings": hd.findings?.(msg.findings); break;
      case "artefact": hd.artefact?.(msg.name); break;
      case "logs": hd.logs?.(msg.lines || []); break; // a script run's console
      case "deleted": hd.deleted?.(); break;
      case "error": hd.error?.(msg.message); break;
      default: break;
    }
  }

  onState(state) { this.handlers.state?.(state); }
}

/** The run list: hello(runs), run(run), progress(msg), deleted(id), state(s). */
export class RunListStream extends Reconnecting {
  constructor(handlers) {
    super();
    this.handlers = handlers;
    this.open();
  }

  url() { return "/ws/runs"; }

  onMessage(msg) {
    const hd = this.handlers;
    switch (msg.type) {
      case "hello": hd.state?.("live"); hd.hello?.(msg.runs); break;
      case "run": hd.run?.(msg.run); break;
      case "progress": hd.progress?.(msg); break;
      case "deleted": hd.deleted?.(msg.id); break;
      case "resync": this.ws?.close(); break; // a fresh hello is the whole list again
      default: break;
    }
  }

  onState(state) { this.handlers.state?.(state); }
}
