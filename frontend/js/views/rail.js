// The left rail: every run, live from WS /ws/runs; filter; lineage; compare selection.

import { RunListStream } from "../live.js";
import { runs, selected, toggleSelected, emit, on, toggleTheme, currentTheme } from "../state.js";
import { h, runLabel, fmtPct, fmtNum, toNum } from "../format.js";
import { externalProgress, isExternal, maxEpochsOf } from "../external.js";

let listEl, filterInput, compareBtn, countEl, connEl, themeBtn, sweepsLink, groupsEl, groupsList, groupsCount;
let activePath = "/";
const GROUPS_SHOWN = 40;
const GROUPS_OPEN_KEY = "trainscope.groupsOpen";
const items = new Map(); // id → {li, refs}
let activeId = null;

function bestText(run) {
  const best = run.best || {};
  const latest = run.latest || {};
  const acc = toNum(best.val_accuracy ?? latest.val_accuracy);
  if (acc !== null) return { label: "val acc", value: fmtPct(acc) };
  const rmse = toNum(best.val_rmse ?? latest.val_rmse);
  if (rmse !== null) return { label: "val rmse", value: fmtNum(rmse, 3) };
  const loss = toNum(best.val_loss ?? latest.val_loss ?? latest.train_loss);
  if (loss !== null) return { label: best.val_loss !== undefined ? "val loss" : "loss", value: fmtNum(loss, 3) };
  return null;
}

function progressText(run) {
  const p = run.progress || {};
  // A script's run: only what its script said (epochs when its config named them).
  if (isExternal(run)) return externalProgress(run);
  // An entry point's run: the epochs its max-epochs option says (its role), else how far it is.
  if (run.spec?.kind === "script") {
    return p.max_epochs ? `epoch ${p.epoch || 0}/${p.max_epochs}` : `it. ${p.iteration || 0}`;
  }
  // A preflight check (lr-range-test, overfit-batch, initial-loss) runs its own iterations.
  if (run.spec?.kind && run.spec.kind !== "train") return `it. ${p.iteration || 0}/${p.max_iterations ?? "?"}`;
  const n = p.max_epochs ?? run.spec?.options?.max_epochs;
  return `epoch ${p.epoch || 0}/${n ?? "?"}`;
}

function progressFraction(run) {
  const p = run.progress || {};
  if (p.max_iterations) return Math.min(1, (p.iteration || 0) / p.max_iterations);
  const maxEpochs = isExternal(run) ? maxEpochsOf(run) : run.spec?.kind === "script" ? p.max_epochs : null;
  if (maxEpochs) return Math.min(1, Math.max(0, (p.epoch || 0) - 1) / maxEpochs); // epochs done
  return null; // unknown: no bar
}

function makeItem(run) {
  const check = h("input", { type: "checkbox", class: "run-check", "data-testid": "run-select",
    "aria-label": `select ${runLabel(run)} for compare` });
  check.checked = selected.has(run.id);
  check.addEventListener("change", () => toggleSelected(run.id, check.checked));
  const link = h("a", { href: `/runs/${run.id}`, class: "run-link" });
  const name = h("span", { class: "run-name" });
  const status = h("span", { class: "badge", "data-testid": "run-status" });
  const script = isExternal(run) ? h("span", { class: "badge kind-script", "data-testid": "script-badge",
    title: "Logged by its own training script (trainscope.init)" }, "script") : null;
  // A branch says where it goes on from; a restart is a child too, from scratch.
  const origin = run.spec?.branch;
  const branch = origin ? h("span", { class: "badge kind-branch", "data-testid": "branch-badge",
    title: `Branched from run ${origin.run_id} at the end of epoch ${origin.epoch}` }, `↳ @${origin.epoch}`) : null;
  const meta = h("span", { class: "run-meta" });
  const best = h("span", { class: "run-best" });
  const bar = h("span", { class: "run-bar" }, h("span", { class: "run-bar-fill" }));
  link.append(h("span", { class: "run-line1" }, name, h("span", { class: "badges" }, script, branch, status)), h("span", { class: "run-line2" }, meta, best), bar);
  const li = h("li", { class: "run-item", "data-testid": "run-item", "data-run-id": String(run.id),
    "data-kind": run.spec?.kind || "train", "data-parent-id": run.parent_id ? String(run.parent_id) : null },
    check, link);
  const entry = { li, check, link, name, status, meta, best, bar, id: run.id };
  items.set(run.id, entry);
  return entry;
}

function updateItem(entry, run) {
  entry.name.textContent = runLabel(run);
  entry.name.title = `#${run.id}${run.group ? ` · group ${run.group}` : ""}${run.tags?.length ? ` · ${run.tags.join(", ")}` : ""}`;
  entry.status.textContent = run.status;
  entry.status.className = `badge status-${run.status}`;
  entry.meta.textContent = `#${run.id} · ${progressText(run)}`;
  const b = bestText(run);
  entry.best.textContent = b ? `${b.label} ${b.value}` : "";
  const fraction = progressFraction(run);
  entry.bar.firstChild.style.width = `${((fraction ?? 0) * 100).toFixed(1)}%`;
  entry.bar.hidden = run.status !== "running" || (fraction === null && isExternal(run));
  entry.li.classList.toggle("active", run.id === activeId);
  if (run.id === activeId) entry.link.setAttribute("aria-current", "page");
  else entry.link.removeAttribute("aria-current");
}

function matches(run, q) {
  if (!q) return true;
  const hay = [runLabel(run), run.status, run.group || "", ...(run.tags || []), `#${run.id}`,
    run.spec?.dataset?.name || "", run.spec?.model?.preset || "",
    isExternal(run) ? "script external" : ""].join(" ").toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w));
}

/** Runs ordered as a tree: roots newest first, each followed by its children (oldest first). */
function ordered() {
  const all = [...runs.values()];
  const kids = new Map();
  const roots = [];
  for (const r of all) {
    if (r.parent_id && runs.has(r.parent_id)) {
      if (!kids.has(r.parent_id)) kids.set(r.parent_id, []);
      kids.get(r.parent_id).push(r);
    } else roots.push(r);
  }
  roots.sort((a, b) => b.id - a.id);
  const out = [];
  const walk = (r, depth) => {
    out.push([r, depth]);
    for (const k of (kids.get(r.id) || []).sort((a, b) => a.id - b.id)) walk(k, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return out;
}

function render() {
  const q = filterInput.value.trim().toLowerCase();
  const frag = document.createDocumentFragment();
  let shown = 0;
  for (const [run, depth] of ordered()) {
    let entry = items.get(run.id);
    if (!entry) entry = makeItem(run);
    updateItem(entry, run);
    entry.li.style.setProperty("--depth", String(Math.min(depth, 6)));
    entry.li.dataset.depth = String(depth);
    entry.li.classList.toggle("child", depth > 0);
    if (!matches(run, q)) continue;
    frag.append(entry.li);
    shown += 1;
  }
  for (const [id, entry] of items) if (!runs.has(id)) { entry.li.remove(); items.delete(id); }
  // Keep the focused element in place when nothing structural changed.
  const current = [...listEl.children];
  const next = [...frag.children];
  const same = current.length === next.length && current.every((el, i) => el === next[i]);
  if (!same) { listEl.replaceChildren(frag); }
  listEl.dataset.empty = runs.size ? "" : "true";
  countEl.textContent = runs.size ? `${shown}${shown !== runs.size ? ` of ${runs.size}` : ""} runs` : "no runs yet";
  updateCompare();
  renderGroups();
}

/** The groups the runs are in, newest first (by their newest member), each with its count. */
function renderGroups() {
  const groups = new Map(); // name → {n, newest}
  for (const r of runs.values()) {
    if (!r.group) continue;
    const g = groups.get(r.group) || { n: 0, newest: 0 };
    g.n += 1; g.newest = Math.max(g.newest, r.id);
    groups.set(r.group, g);
  }
  const sorted = [...groups].sort((a, b) => b[1].newest - a[1].newest).slice(0, GROUPS_SHOWN);
  const key = JSON.stringify([sorted, activePath]);
  if (groupsEl.dataset.key === key) return;
  groupsEl.dataset.key = key;
  groupsEl.hidden = !groups.size;
  groupsCount.textContent = groups.size ? ` (${groups.size})` : "";
  groupsList.replaceChildren(...sorted.map(([name, g]) => {
    const href = `/groups/${encodeURIComponent(name)}`;
    const a = h("a", { href, class: "rail-group", "data-testid": "rail-group", "data-group": name,
      "aria-current": activePath === href ? "page" : null },
    h("span", { class: "run-name" }, name), h("span", { class: "run-meta" }, `${g.n} run${g.n === 1 ? "" : "s"}`));
    return h("li", {}, a);
  }));
}

/** The page shown (main.js calls this on every route): marks the rail's link to it. */
export function setActivePage(path) {
  activePath = path;
  if (sweepsLink) {
    if (path === "/sweeps" || path.startsWith("/sweeps/")) sweepsLink.setAttribute("aria-current", "page");
    else sweepsLink.removeAttribute("aria-current");
  }
  if (groupsEl) renderGroups();
}

function updateCompare() {
  for (const id of [...selected]) if (!runs.has(id) && runs.size) selected.delete(id);
  const n = [...selected].filter((id) => runs.has(id)).length;
  compareBtn.textContent = n ? `Compare (${n})` : "Compare";
  compareBtn.disabled = n < 1;
  for (const [id, entry] of items) entry.check.checked = selected.has(id);
}

let renderQueued = false;
// Runs added, changed or deleted show in the next frame; progress alone (a stream of messages
// while runs train) at most twice a second: redrawing the whole list per message costs frames.
const PROGRESS_RENDER_MS = 500;
let progressTimer = null;

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  clearTimeout(progressTimer);
  progressTimer = null;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function scheduleProgressRender() {
  if (renderQueued || progressTimer) return;
  progressTimer = setTimeout(() => { progressTimer = null; scheduleRender(); }, PROGRESS_RENDER_MS);
}

export function setActiveRun(id) {
  activeId = id;
  for (const [rid, entry] of items) {
    entry.li.classList.toggle("active", rid === id);
    if (rid === id) entry.link.setAttribute("aria-current", "page");
    else entry.link.removeAttribute("aria-current");
  }
}

export function mountRail(root, navigate) {
  filterInput = h("input", { type: "search", class: "filter", placeholder: "Filter: name, status, tag, group",
    "data-testid": "run-filter", "aria-label": "Filter runs" });
  filterInput.addEventListener("input", render);
  compareBtn = h("button", { type: "button", class: "btn", "data-testid": "compare-button", disabled: true },
    "Compare");
  compareBtn.addEventListener("click", () => {
    const ids = [...selected].filter((id) => runs.has(id)).sort((a, b) => a - b);
    if (ids.length) navigate(`/compare?ids=${ids.join(",")}`);
  });
  themeBtn = h("button", { type: "button", class: "btn icon", "data-testid": "theme-toggle",
    "aria-label": "Toggle light/dark theme" });
  const setThemeLabel = (t) => { themeBtn.textContent = t === "dark" ? "☀" : "☾"; themeBtn.title = t === "dark" ? "Light theme" : "Dark theme"; };
  setThemeLabel(currentTheme());
  themeBtn.addEventListener("click", () => setThemeLabel(toggleTheme()));
  listEl = h("ul", { class: "run-list", "data-testid": "run-list", "aria-label": "Runs" });
  sweepsLink = h("a", { href: "/sweeps", class: "rail-nav-link", "data-testid": "sweeps-link" }, "Sweeps");
  groupsCount = h("span", { class: "muted" });
  groupsList = h("ul", { class: "group-list", "aria-label": "Groups" });
  groupsEl = h("details", { class: "rail-groups", "data-testid": "rail-groups", hidden: true },
    h("summary", { "data-testid": "rail-groups-toggle" }, h("span", {}, "Groups", groupsCount)), groupsList);
  groupsEl.open = sessionStorage.getItem(GROUPS_OPEN_KEY) === "1";
  groupsEl.addEventListener("toggle", () => sessionStorage.setItem(GROUPS_OPEN_KEY, groupsEl.open ? "1" : "0"));
  countEl = h("span", { class: "muted small" });
  connEl = h("span", { class: "conn", title: "run list connection" });
  root.replaceChildren(
    h("div", { class: "rail-head" },
      h("a", { href: "/", class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "trainscope"),
      themeBtn),
    h("div", { class: "rail-actions" },
      h("a", { href: "/runs/new", class: "btn primary", "data-testid": "new-run-link" }, "+ New run"),
      compareBtn),
    h("div", { class: "rail-nav", role: "group", "aria-label": "Sweeps and groups" }, sweepsLink, groupsEl),
    filterInput,
    h("div", { class: "rail-count" }, countEl, connEl),
    listEl,
  );
  render();

  new RunListStream({ // eslint-disable-line no-new
    hello(list) {
      runs.clear();
      for (const r of list) runs.set(r.id, r);
      scheduleRender();
      emit("runs", runs);
    },
    run(r) { runs.set(r.id, { ...(runs.get(r.id) || {}), ...r }); scheduleRender(); emit("run", r); },
    progress(m) {
      const r = runs.get(m.id);
      if (!r) return;
      r.progress = m.progress; r.last_seq = m.last_seq;
      r.latest = { ...(r.latest || {}), ...(m.latest || {}) };
      if (m.best) r.best = m.best; // the server's best validation so far (its rule, not ours)
      scheduleProgressRender();
    },
    deleted(id) { runs.delete(id); selected.delete(id); scheduleRender(); emit("deleted", id); },
    state(s) { connEl.className = `conn ${s}`; connEl.title = `run list: ${s}`; },
  });
  on("selection", updateCompare);
}
