// Websocket clients. Both reconnect with exponential backoff. RunStream resumes from the last
// seq it delivered, so across reconnects and resyncs every point arrives exactly once and in order.

import { columnsToPoints, api } from "./api.js";

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
 * One run's live feed. handlers: hello(run), points(points[]), status(msg), findings(list),
 * artefact(name), logs(lines[]) (a script run's console), deleted(), state("live"|"reconnecting"|"gone").
 */
export class RunStream extends Reconnecting {
  constructor(runId, lastSeq, handlers) {
    super();
    this.runId = runId;
    this.lastSeq = lastSeq; // the last seq delivered to handlers.points
    this.handlers = handlers;
    this.resyncing = false;
    this.pending = []; // points that arrived while a resync fetch was in flight
    this.open();
  }

  url() { return `/ws/runs/${this.runId}?after_seq=${this.lastSeq}`; }

  deliver(points) {
    const fresh = [];
    for (const p of points) {
      if (p.seq > this.lastSeq) { fresh.push(p); this.lastSeq = p.seq; }
    }
    if (fresh.length) this.handlers.points?.(fresh);
  }

  async resync() {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      for (;;) {
        const cols = await api.metrics(this.runId, { after_seq: this.lastSeq, limit: 50000 });
        const page = columnsToPoints(cols);
        this.deliver(page);
        if (!cols.has_more || page.length === 0) break;
      }
    } catch (err) {
      // The socket will be reconnected from lastSeq, which is as good as a resync.
      console.warn("resync failed:", err.message); // eslint-disable-line no-console
      if (this.ws) this.ws.close();
    } finally {
      this.resyncing = false;
      const queued = this.pending;
      this.pending = [];
      this.deliver(queued);
    }
  }

  onMessage(msg) {
    const hd = this.handlers;
    switch (msg.type) {
      case "hello": hd.state?.("live"); hd.hello?.(msg.run); break;
      case "points":
        if (this.resyncing) this.pending.push(...msg.points);
        else this.deliver(msg.points);
        break;
      case "resync": this.resync(); break;
      case "status": hd.status?.(msg); break;
      case "findings": hd.findings?.(msg.findings); break;
      case "artefact": hd.artefact?.(msg.name); break;
      case "logs": hd.logs?.(msg.lines || []); break;
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
