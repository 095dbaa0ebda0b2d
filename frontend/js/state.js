// Shared client state: the run list (fed by the rail's websocket), the compare selection and
// the theme. Views subscribe with on(); emit() notifies.

const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}

export function emit(event, payload) {
  for (const fn of listeners.get(event) || []) {
    try { fn(payload); } catch (err) { console.warn(err); } // eslint-disable-line no-console
  }
}

export const runs = new Map(); // id → run JSON (as the list socket knows it)

export const selected = new Set(
  (sessionStorage.getItem("trainscope.selected") || "").split(",").filter(Boolean).map(Number));

export function toggleSelected(id, on_) {
  if (on_) selected.add(id); else selected.delete(id);
  sessionStorage.setItem("trainscope.selected", [...selected].join(","));
  emit("selection", selected);
}

const THEME_KEY = "trainscope.theme";

export function currentTheme() {
  const stored = localStorage.getItem(THEME_KEY);
  if (stored === "light" || stored === "dark") return stored;
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches
    ? "dark" : "light";
}

export function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  emit("theme", theme);
}

export function toggleTheme() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
  return next;
}

export function initTheme() {
  applyTheme(currentTheme());
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      if (!localStorage.getItem(THEME_KEY)) applyTheme(currentTheme());
    });
  }
}
