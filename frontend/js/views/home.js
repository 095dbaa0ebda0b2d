// The landing page at /: a short guide and the newest runs.

import { h } from "../format.js";

export async function mountHome(main) {
  document.title = "trainscope";
  main.replaceChildren(h("div", { class: "page home" },
    h("header", { class: "page-head" }, h("h1", {}, "trainscope"),
      h("p", { class: "muted" }, "Live training curves for many runs at once: start a run, watch it learn, change an option, restart, compare.")),
    h("div", { class: "cards" },
      h("a", { class: "card link-card", href: "/runs/new" }, h("h2", {}, "Start a run →"),
        h("p", { class: "muted" }, "Pick a dataset, a model and the training options. Every option shows its default, range and a tuning hint.")),
      h("div", { class: "card" }, h("h2", {}, "Watch it"),
        h("p", { class: "muted" }, "Open a run from the list on the left: accuracy above loss, smoothed, with validation dashed and epochs shaded.")),
      h("div", { class: "card" }, h("h2", {}, "Compare"),
        h("p", { class: "muted" }, "Tick runs in the list and press Compare: curves overlaid and a table of exactly what differs.")))));
  return () => {};
}
