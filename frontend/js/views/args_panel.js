// A script run's side of the run page: its options (spec.args, the values it ran with, those
// not at their default marked), what it ran (argv, folder, code hash, git commit), and the note
// "the code changed since the parent run" when spec.launch.code.sha256 differs from the
// parent's. Also the entry point a run came from, for the forms that edit its args.

import { api } from "../api.js";
import { h } from "../format.js";
import { argText } from "./entrypoint_form.js";

export function isScriptRun(run) { return run?.spec?.kind === "script"; }

let registered = null;
/** The registered entry points, fetched once a page load. */
export function entrypoints() {
  if (!registered) registered = api.entrypoints().catch((e) => { registered = null; throw e; });
  return registered;
}

/** Run `run`'s entry point ({name, schema, roles, supports}), or null when it is no longer registered. */
export async function entrypointOf(run) {
  const list = await entrypoints();
  return list.find((ep) => ep.name === run.spec?.entrypoint) || null;
}

/** The run's roles: the entry point's now, else what was recorded at launch. */
export function rolesOf(run, ep) { return ep?.roles || run.spec?.launch?.roles || {}; }

export function argsPanel(run, ep) {
  const args = run.spec?.args || {};
  const props = ep?.schema?.properties || {};
  const roleOf = {};
  for (const [role, opt] of Object.entries(rolesOf(run, ep))) if (opt) roleOf[opt] = role.replace(/_/g, " ");
  const rows = Object.entries(args).map(([k, v]) => {
    const def = props[k]?.default;
    const changed = k in props && JSON.stringify(def ?? null) !== JSON.stringify(v ?? null);
    return h("tr", { "data-arg": k, class: changed ? "non-default" : "",
      title: changed ? `default ${argText(def)}` : props[k]?.description || "" },
    h("th", { scope: "row", class: "mono" }, k,
      roleOf[k] ? h("span", { class: "role-badge", title: `read as the ${roleOf[k]}` }, roleOf[k]) : null),
    h("td", { class: "mono" }, argText(v) || "—"));
  });
  const launch = run.spec?.launch || {};
  const code = launch.code || {};
  const codeNote = h("p", { class: "notice small", "data-testid": "code-changed", role: "status", hidden: true });
  const panel = h("section", { class: "card config args-panel", "data-testid": "args-panel", "aria-label": "Options" },
    h("h2", {}, "Options", h("span", { class: "muted small" }, ` of ${run.spec?.entrypoint ?? "?"}`)),
    codeNote,
    rows.length ? h("table", { class: "config-table", "data-testid": "args-table" }, h("tbody", {}, ...rows))
      : h("p", { class: "muted small" }, "No options."),
    rows.some((r) => r.classList.contains("non-default"))
      ? h("p", { class: "muted small" }, "Bold: not the default (hover for it).") : null,
    h("details", { class: "launch" }, h("summary", { class: "small" }, "What ran"),
      h("dl", { class: "info small" },
        h("dt", {}, "Command"), h("dd", { class: "mono", "data-testid": "launch-argv" }, (launch.argv || []).join(" ") || "—"),
        h("dt", {}, "Folder"), h("dd", { class: "mono" }, launch.cwd || "—"),
        h("dt", {}, "Code"), h("dd", { class: "mono", title: code.sha256 || "" }, code.sha256 ? `sha256 ${code.sha256.slice(0, 12)}…` : "—"),
        h("dt", {}, "Git"), h("dd", { class: "mono" }, code.git_commit
          ? `${code.git_commit.slice(0, 10)}${code.git_dirty ? " + uncommitted changes" : ""}` : "not in a repository"))));
  if (run.parent_id && code.sha256) {
    api.run(run.parent_id).then((parent) => {
      const theirs = parent?.spec?.launch?.code?.sha256;
      if (theirs && theirs !== code.sha256) {
        codeNote.hidden = false;
        codeNote.replaceChildren("The code changed since the parent run ",
          h("a", { href: `/runs/${parent.id}` }, `#${parent.id}`),
          ": a difference in the curves may come from the code, not only from the options.");
      }
    }).catch(() => {});
  }
  return panel;
}

/** A sweep over an entry point: its base as a settings row, the args as the script's options. */
export function scriptBase(base) {
  const args = Object.entries(base.args || {});
  return ["Base", h("span", { "data-testid": "sweep-base-args" }, h("strong", {}, base.entrypoint),
    args.length ? " with " : " with its defaults",
    ...args.flatMap(([k, v], i) => [i ? ", " : "", h("span", { class: "mono" }, `${k}=${argText(v)}`)]))];
}
