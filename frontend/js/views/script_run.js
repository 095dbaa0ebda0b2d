// The run page's parts for a run of a registered entry point (spec.kind "script"): the options
// panel, the console, and what its buttons may do. Repeat needs the entry point's seed role
// (the server answers 409 without one): without it the button is disabled and says why;
// Resume needs its resume support.

import { h } from "../format.js";
import { argsPanel, entrypointOf, rolesOf } from "./args_panel.js";
import { ConsolePane } from "./console_pane.js";

/** {side, console, buttons(b, repeatGroup), ep}: mounted by the run page for a script run. */
export async function scriptRunParts(run) {
  const ep = await entrypointOf(run).catch(() => null);
  const pane = new ConsolePane(run.id);
  pane.load();
  const roles = rolesOf(run, ep);
  const gone = !ep;
  const side = h("div", { class: "script-side" },
    gone ? h("p", { class: "notice small", "data-testid": "entrypoint-gone" },
      `The entry point ${run.spec?.entrypoint ?? "?"} is not registered on this server now: restart, repeat and resume are off.`) : null,
    argsPanel(run, ep));
  const repeatWhy = h("span", { class: "muted small", "data-testid": "repeat-unavailable", hidden: true });

  /** Disable what this entry point cannot do, and say why; call after each status change. */
  function buttons(b, repeatGroup) {
    if (!repeatWhy.isConnected) repeatGroup.after(repeatWhy);
    const noSeed = !roles.seed;
    for (const el of repeatGroup.querySelectorAll("button, input")) el.disabled = gone || noSeed;
    repeatWhy.hidden = !(noSeed || gone);
    repeatWhy.textContent = gone ? "" : noSeed ? "No Repeat: the script has no seed option (e.g. --seed) for the repeats to differ by." : "";
    b.repeat.title = noSeed ? "The script has no seed option: repeats would all be the same run"
      : `Start new runs identical to this one but for --${roles.seed}, in one group: how much of a result is noise?`;
    if (gone) b.restart.disabled = true;
    if (gone || !ep.supports?.resume) {
      b.resume.disabled = true;
      b.resume.title = gone ? "" : "The script has no resume option: it cannot continue from a checkpoint";
    }
    b.stop.title = "Stop: the script is asked, then interrupted (KeyboardInterrupt), then terminated after a grace period";
  }
  return { side, console: pane, buttons, ep };
}
