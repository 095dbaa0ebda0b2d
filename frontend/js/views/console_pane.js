// A script run's console: its stdout and stderr lines (GET /api/runs/{id}/logs for what came
// before, the websocket's `logs` messages after), numbered, stderr styled apart. It follows the
// end while the user is at the bottom and keeps its place when they scroll up (a "Jump to the
// end" button says how many lines came meanwhile). The search box keeps only the lines that
// contain the text, highlighted. A traceback (stderr) stays in view: it is the run's last words.

import { api } from "../api.js";
import { h } from "../format.js";

const MAX_LINES = 20000; // lines kept in the page; older ones drop (the server keeps both ends)
const AT_END_PX = 24; // this close to the bottom counts as "at the end": following

export class ConsolePane {
  constructor(runId) {
    this.runId = runId;
    this.next = 0; // the n to ask the server for: lines up to it are held
    this.lines = []; // {n, stream, text}
    this.follow = true;
    this.unseen = 0;
    this.query = "";
    this.loaded = false;
    this.pending = [];
    this.log = h("div", { class: "console-log mono", "data-testid": "console-log", role: "log",
      "aria-live": "off", tabindex: "0", "aria-label": "Console output" });
    this.search = h("input", { type: "search", class: "console-search", placeholder: "Search the console",
      "data-testid": "console-search", "aria-label": "Search the console" });
    this.count = h("span", { class: "muted small", "data-testid": "console-count" });
    this.jump = h("button", { type: "button", class: "btn small", "data-testid": "console-jump", hidden: true }, "Jump to the end");
    this.note = h("p", { class: "muted small console-note", "data-testid": "console-note", hidden: true });
    this.el = h("section", { class: "card console", "data-testid": "console", "aria-label": "Console" },
      h("div", { class: "console-head" }, h("h2", {}, "Console"), this.search, this.count, this.jump),
      this.note, this.log);
    this.log.addEventListener("scroll", () => {
      const atEnd = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight <= AT_END_PX;
      this.follow = atEnd;
      this.el.dataset.follow = String(atEnd);
      if (atEnd) { this.unseen = 0; this.jump.hidden = true; }
    });
    this.el.dataset.follow = "true";
    this.jump.addEventListener("click", () => this.toEnd());
    this.search.addEventListener("input", () => { this.query = this.search.value; this.render(); });
    this.empty = h("p", { class: "muted small console-empty" }, "No output yet.");
    this.log.append(this.empty);
  }

  /** The lines so far, page by page. */
  async load() {
    let after = 0;
    try {
      for (;;) {
        const page = await api.logs(this.runId, after, 5000);
        if (page.skipped) this.skipped(page.skipped);
        this.add(page.lines || []);
        if (!page.lines?.length || page.next <= after) break;
        after = page.next;
      }
    } catch (err) {
      this.note.hidden = false;
      this.note.textContent = `Could not load the console: ${err.message}`;
    } finally {
      this.loaded = true;
      this.add(this.pending);
      this.pending = [];
    }
  }

  /** The websocket's lines: held back until the earlier ones are in. */
  live(lines) {
    if (this.loaded) this.add(lines);
    else this.pending.push(...lines);
  }

  skipped(n) {
    this.note.hidden = false;
    this.note.textContent = `${n.toLocaleString()} lines in the middle were not kept (the console keeps its first and last megabytes).`;
  }

  /** Lines from either source; ones already held (n ≤ the last held) are ignored. */
  add(lines) {
    const last = this.lines.length ? this.lines[this.lines.length - 1].n : 0;
    const fresh = lines.filter((l) => l.n > last);
    if (!fresh.length) return;
    this.next = Math.max(this.next, fresh[fresh.length - 1].n);
    this.lines.push(...fresh);
    let dropped = 0;
    if (this.lines.length > MAX_LINES) {
      dropped = this.lines.length - MAX_LINES;
      this.lines.splice(0, dropped);
    }
    this.empty.remove();
    if (this.query) { this.render(); return; }
    const keep = this.log.scrollTop;
    if (dropped) for (let i = 0; i < dropped && this.log.firstChild; i++) this.log.firstChild.remove();
    const frag = document.createDocumentFragment();
    for (const l of fresh) frag.append(this.row(l, null));
    this.log.append(frag);
    this.after(fresh.length, keep);
  }

  row(l, q) {
    const text = h("span", { class: "text" });
    if (q) {
      const lower = l.text.toLowerCase();
      let at = 0;
      for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, at)) {
        text.append(l.text.slice(at, i), h("mark", {}, l.text.slice(i, i + q.length)));
        at = i + q.length;
      }
      text.append(l.text.slice(at));
    } else text.textContent = l.text;
    return h("div", { class: `line ${l.stream === "stderr" ? "stderr" : "stdout"}`, "data-n": String(l.n),
      "data-stream": l.stream }, h("span", { class: "n", "aria-hidden": "true" }, String(l.n)), text);
  }

  /** Redraw every held line that matches the search (all of them without one). */
  render() {
    // Spaces count ("step 7 " is not "step 70"); a query of spaces only is no query.
    const q = this.query.trim() ? this.query.toLowerCase() : "";
    const shown = q ? this.lines.filter((l) => l.text.toLowerCase().includes(q)) : this.lines;
    const keep = this.log.scrollTop;
    this.log.replaceChildren(...shown.map((l) => this.row(l, q || null)));
    if (!this.lines.length) this.log.append(this.empty);
    else if (!shown.length) this.log.append(h("p", { class: "muted small" }, `No line contains “${this.query}”.`));
    this.count.textContent = q ? `${shown.length} of ${this.lines.length} lines` : "";
    this.after(0, keep);
  }

  after(added, keep) {
    if (this.follow) this.toEnd();
    else {
      this.log.scrollTop = keep; // where the user was reading
      this.unseen += added;
      if (this.unseen) { this.jump.hidden = false; this.jump.textContent = `Jump to the end (${this.unseen} new)`; }
    }
    this.el.dataset.lines = String(this.lines.length);
    if (!this.query) this.count.textContent = `${this.lines.length} line${this.lines.length === 1 ? "" : "s"}`;
  }

  toEnd() {
    this.follow = true;
    this.el.dataset.follow = "true";
    this.unseen = 0;
    this.jump.hidden = true;
    this.log.scrollTop = this.log.scrollHeight;
  }
}
