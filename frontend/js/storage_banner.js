// A banner above everything while /api/health says the data directory's disk is full: runs
// then fail for want of space, and the dashboard says why instead of stalling silently.

import { h } from "./format.js";

const EVERY_MS = 10_000;

export function mountStorageBanner(app) {
  const banner = h("div", { class: "storage-banner", role: "alert", hidden: "" });
  app.prepend(banner);
  async function check() {
    try {
      const r = await fetch("/api/health", { credentials: "same-origin" });
      const storage = r.ok ? (await r.json()).storage : null;
      if (storage?.full) {
        banner.textContent = storage.message;
        banner.hidden = false;
      } else {
        banner.hidden = true;
      }
    } catch { /* the server is away: other parts of the page say so */ }
  }
  check();
  setInterval(check, EVERY_MS);
}
