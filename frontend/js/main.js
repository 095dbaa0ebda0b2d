// Boot and router (History API). Pages: /, /runs/new, /runs/{id}, /compare?ids=…, /groups/{name},
// /sweeps, /sweeps/{id}

import { mountRail, setActivePage, setActiveRun } from "./views/rail.js";
import { mountNewRun } from "./views/new_run.js";
import { mountRun } from "./views/run.js";
import { mountCompare } from "./views/compare.js";
import { mountHome } from "./views/home.js";
import { mountGroup } from "./views/group.js";
import { mountSweep } from "./views/sweep.js";
import { mountSweeps } from "./views/sweeps.js";
import { initTheme } from "./state.js";
import { mountStorageBanner } from "./storage_banner.js";
import { h } from "./format.js";

// The version is the server's (GET /api/health): written once, in backend/trainscope/version.py.
window.trainscope = { frameTimes: [] };

let main;
let cleanup = null;
let generation = 0;

function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState({}, "", url);
  else if (url !== location.pathname + location.search) history.pushState({}, "", url);
  route();
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

async function route() {
  const gen = ++generation;
  if (cleanup) { try { cleanup(); } catch (err) { console.error(err); } cleanup = null; } // eslint-disable-line no-console
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const query = new URLSearchParams(location.search);
  const m = /^\/runs\/(\d+)$/.exec(path);
  const g = /^\/groups\/(.+)$/.exec(path);
  const sw = /^\/sweeps\/(\d+)$/.exec(path);
  setActiveRun(m ? Number(m[1]) : null);
  setActivePage(path);
  let mount;
  if (path === "/") mount = () => mountHome(main);
  else if (path === "/runs/new") mount = () => mountNewRun(main, { navigate, query });
  else if (m) mount = () => mountRun(main, { id: Number(m[1]), navigate });
  else if (path === "/compare") mount = () => mountCompare(main, { query, navigate });
  else if (g) mount = () => mountGroup(main, { name: safeDecode(g[1]), navigate });
  else if (path === "/sweeps") mount = () => mountSweeps(main, { navigate });
  else if (sw) mount = () => mountSweep(main, { id: Number(sw[1]), navigate });
  else mount = async () => { main.replaceChildren(h("div", { class: "page" }, h("h1", {}, "Not found"), h("a", { href: "/" }, "Home"))); return () => {}; };
  try {
    const done = await mount();
    if (gen !== generation) { done?.(); return; } // navigated away while loading
    cleanup = done;
    main.focus({ preventScroll: true });
  } catch (err) {
    if (gen !== generation) return;
    main.replaceChildren(h("div", { class: "page" }, h("h1", {}, "Something went wrong"),
      h("p", { class: "error-text" }, err.message)));
  }
}

function onClick(ev) {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (a.getAttribute("href").startsWith("#")) return;
  if (url.origin !== location.origin || url.pathname.startsWith("/api") || url.pathname.startsWith("/static")
    || url.pathname.startsWith("/docs")) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
}

function boot() {
  initTheme();
  const app = document.getElementById("app");
  const rail = h("nav", { class: "rail", "aria-label": "Runs" });
  main = h("main", { class: "main", id: "main", tabindex: "-1" });
  app.replaceChildren(h("a", { class: "skip", href: "#main" }, "Skip to content"), rail, main);
  mountRail(rail, navigate);
  mountStorageBanner(app);
  document.addEventListener("click", onClick);
  window.addEventListener("popstate", route);
  route();
}

boot();
