// The sweeps list, /sweeps: every sweep with its status, progress and best value so far.
// Refreshed every few seconds while one of them runs.

import { api } from "../api.js";
import { h, fmtMetric, metricLabel, fmtDate } from "../format.js";
import { bestWords, progressWords } from "./sweep.js";

const POLL_MS = 3000;

export async function mountSweeps(main) {
  document.title = "Sweeps · trainscope";
  const table = h("table", { class: "diff sweeps", "data-testid": "sweep-list" });
  const status = h("p", { class: "muted" }, "Loading…");
  main.replaceChildren(h("div", { class: "page sweeps-page", "data-testid": "sweeps-page" },
    h("header", { class: "page-head" }, h("h1", {}, "Sweeps"),
      h("p", { class: "muted" }, "A sweep runs one base spec over a grid or a random sample of option values, a few trials at a time. Start one from the ",
        h("a", { href: "/runs/new", "data-testid": "sweeps-new" }, "New run"), " page's Sweep panel, with ",
        h("code", {}, "trainscope submit"), " and a sweep file, or with ", h("code", {}, "POST /api/sweeps"),
        " (see ", h("a", { href: "/docs#/sweeps" }, "the API docs"), ").")),
    status,
    h("section", { class: "card" }, h("div", { class: "table-wrap" }, table))));

  function render(list) {
    status.textContent = list.length ? `${list.length} sweep${list.length === 1 ? "" : "s"}` : "No sweeps yet.";
    const head = h("tr", {}, ...["Sweep", "Status", "Strategy", "Progress", "Target", "Best so far", "Created"]
      .map((t) => h("th", { scope: "col" }, t)));
    const rows = list.map((s) => h("tr", { "data-testid": "sweep-item", "data-sweep-id": String(s.id) },
      h("td", {}, h("a", { href: `/sweeps/${s.id}` }, s.name || `Sweep ${s.id}`), h("span", { class: "muted small" }, ` #${s.id}`)),
      h("td", {}, h("span", { class: `badge status-${s.status}` }, s.status)),
      h("td", {}, s.strategy),
      h("td", {}, progressWords(s).text),
      h("td", {}, `${metricLabel(s.metric)} (${s.goal})`),
      h("td", { class: "mono", title: bestWords(s) }, s.best ? fmtMetric(s.metric, s.best.value) : "—"),
      h("td", { class: "small muted" }, fmtDate(s.created_at))));
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...rows));
  }

  let closed = false;
  let timer = null;
  async function load() {
    timer = null;
    let list;
    try { list = await api.sweeps(); } catch (err) {
      if (!closed) status.textContent = `Could not load the sweeps: ${err.message}`;
      return;
    }
    if (closed) return;
    render(list);
    if (list.some((s) => s.status === "running")) timer = setTimeout(load, POLL_MS);
  }
  await load();
  return () => { closed = true; clearTimeout(timer); };
}
