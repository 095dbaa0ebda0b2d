// An external run's config (spec.config, as its script gave it to trainscope.init) as a nested
// key/value table: a nested object is a heading row, its keys indented under it. Each leaf row
// carries its dotted path (data-key="optimizer.lr", the name compare's diff uses as
// config.optimizer.lr).

import { h } from "../format.js";
import { configPathFor, configRows, fmtConfigValue } from "../external.js";

export function configPanel(run) {
  const rows = configRows(run.spec?.config);
  // The leaves the server mirrored into training options (the doctor reads those).
  const mirrored = new Map();
  for (const name of run.info?.mirrored_options || []) {
    const path = configPathFor(run, name);
    if (path) mirrored.set(path, name);
  }
  const body = rows.length
    ? h("table", { class: "config-table", "data-testid": "config-table" },
      h("tbody", {}, ...rows.map((r) => {
        const indent = { "--depth": String(Math.min(r.depth, 8)) };
        if (r.branch) {
          return h("tr", { class: "branch", "data-branch": r.path },
            h("th", { scope: "rowgroup", colspan: "2", class: "mono", style: indent }, r.key));
        }
        const option = mirrored.get(r.path);
        const value = fmtConfigValue(r.value);
        return h("tr", { "data-key": r.path, title: option ? `${r.path}: read as the training option ${option}` : r.path },
          h("th", { scope: "row", class: "mono", style: indent }, r.key,
            option ? h("span", { class: "mirror-mark", "aria-label": `(the training option ${option})` }, "•") : null),
          h("td", { class: `mono value-${r.value === null ? "null" : typeof r.value}` }, value));
      })))
    : h("p", { class: "muted small", "data-testid": "config-empty" }, "The script gave no config (trainscope.init(config=...)).");
  return h("section", { class: "card config", "data-testid": "config-panel", "aria-label": "Config" },
    h("h2", {}, "Config"),
    body,
    mirrored.size ? h("p", { class: "muted small config-note", "data-testid": "config-mirrored" },
      h("span", { class: "mirror-mark", "aria-hidden": "true" }, "•"),
      ` read as the training options ${[...mirrored.values()].join(", ")}: the doctor's advice speaks of them.`) : null);
}
