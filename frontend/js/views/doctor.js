// The doctor on the run page: the findings panel (each with "Apply & restart" when it has a
// patch), the verdict of a preflight check (overfit-batch, initial-loss), and the LR range
// test's card (its chart, the suggested learn rate, "Use this").
// Findings come whole (GET /api/runs/{id}/findings, then each websocket "findings" message
// replaces the list); the views redraw only when what they show changed.

import { api } from "../api.js";
import { SEVERITIES } from "../chart_marks.js";
import { h, fmtNum, flatten, FINAL } from "../format.js";
import { KINDS } from "../run_kinds.js";
import { suggestedRate } from "../lr_range.js";
import { newRunUrl } from "./new_run.js";

const ICONS = { critical: "✖", warning: "▲", info: "ℹ", ok: "✔" };
const rank = (s) => { const i = SEVERITIES.indexOf(s); return i < 0 ? SEVERITIES.length : i; };

/** Most severe first, then by iteration. */
export function sortFindings(list) {
  return [...(list || [])].sort((a, b) => rank(a.severity) - rank(b.severity)
    || (a.iteration ?? Infinity) - (b.iteration ?? Infinity) || String(a.code).localeCompare(b.code));
}

function patchText(patch) {
  return Object.entries(flatten(patch)).map(([k, v]) => `${k} → ${v}`).join(", ");
}

function summary(list) {
  const counts = new Map();
  for (const f of list) counts.set(f.severity, (counts.get(f.severity) || 0) + 1);
  const word = { critical: "critical", warning: "warning", info: "note", ok: "passed" };
  return SEVERITIES.filter((s) => counts.has(s)).map((s) => {
    const n = counts.get(s);
    return `${n} ${word[s]}${n > 1 && s !== "critical" && s !== "ok" ? "s" : ""}`;
  }).join(" · ");
}

export class DoctorPanel {
  /**
   * runId: the run the findings are of. navigate(url): where Apply & restart lands.
   * onEdit(patch): open the restart dialog prefilled with the patch. restartBody(patch): what
   * Apply & restart posts (a preflight run's fix is for the training run it checks).
   * inScript(patch): set for a run its own script trains (an external run): no Apply & restart
   * or Edit…, the fix is advice for the script, its patch said as inScript(patch) puts it.
   */
  constructor({ runId, navigate, onEdit, restartBody = (patch) => patch, inScript = null }) {
    this.runId = runId;
    this.inScript = inScript;
    this.restartBody = restartBody;
    this.navigate = navigate;
    this.onEdit = onEdit;
    this.key = null;
    this.countEl = h("span", { class: "muted small", "data-testid": "doctor-summary" });
    this.listEl = h("div", { class: "finding-list", role: "list" });
    this.el = h("section", { class: "findings card", "data-testid": "doctor", "aria-label": "Doctor" },
      h("div", { class: "doctor-head" }, h("h2", {}, "Doctor"), this.countEl), this.listEl);
    this.update([]);
  }

  update(list) {
    const sorted = sortFindings(list);
    // Not the ids: a re-diagnosis replaces the findings (new ids) even when it sees the same.
    const key = JSON.stringify(sorted.map((f) => [f.code, f.severity, f.iteration, f.message, f.fix, f.patch, f.branch]));
    if (key === this.key) return;
    this.key = key;
    // A button of the list had the focus: give it to the same finding's button again.
    const active = this.listEl.contains(document.activeElement) ? document.activeElement : null;
    const refocus = active && [active.closest("[data-code]")?.dataset.code, active.dataset.testid];
    this.countEl.textContent = sorted.length ? summary(sorted) : "";
    if (!sorted.length) {
      this.listEl.replaceChildren(h("p", { class: "muted small", "data-testid": "doctor-empty" },
        "No findings so far. The doctor reads the curves while the run trains and again when it ends."));
      return;
    }
    this.listEl.replaceChildren(...sorted.map((f) => this.item(f)));
    if (refocus) {
      this.listEl.querySelector(`[data-code="${CSS.escape(refocus[0] || "")}"] [data-testid="${refocus[1]}"]`)
        ?.focus({ preventScroll: true });
    }
  }

  item(f) {
    const patch = f.patch && Object.keys(f.patch).length ? f.patch : null;
    const error = h("p", { class: "error-text small", role: "alert", hidden: true });
    let actions = null;
    if (patch && !this.inScript) {
      const apply = h("button", { type: "button", class: "btn primary small", "data-testid": "apply-fix",
        title: `Start a child run with ${patchText(patch)}` }, "Apply & restart");
      const edit = h("button", { type: "button", class: "btn small", "data-testid": "edit-fix",
        title: "Open the restart form with this change filled in" }, "Edit…");
      apply.addEventListener("click", async () => {
        apply.disabled = true;
        apply.textContent = "Restarting…";
        error.hidden = true;
        try {
          const child = await api.restart(this.runId, this.restartBody(patch));
          this.navigate(`/runs/${child.id}`);
        } catch (err) {
          error.textContent = `Could not restart: ${err.message}`;
          error.hidden = false;
          apply.disabled = false;
          apply.textContent = "Apply & restart";
        }
      });
      edit.addEventListener("click", () => this.onEdit(patch));
      actions = h("div", { class: "finding-actions" }, this.branchButton(f, error), apply, edit);
    }
    const sev = SEVERITIES.includes(f.severity) ? f.severity : "info";
    return h("div", { class: `finding sev-${sev}`, role: "listitem", "data-testid": "finding",
      "data-code": f.code, "data-severity": sev },
    h("div", { class: "finding-head" },
      h("span", { class: `sev-badge sev-${sev}` }, h("span", { "aria-hidden": "true" }, ICONS[sev]), ` ${sev}`),
      h("span", { class: "finding-code mono" }, f.code),
      Number.isFinite(f.iteration) ? h("span", { class: "muted small" }, `it. ${f.iteration}`) : null),
    h("p", { class: "finding-message", "data-testid": "finding-message" }, f.message),
    f.fix || patch ? this.fixText(f, patch) : null,
    actions, error);
  }

  /** Where a branch is the fix (f.branch: {epoch, options, fix}): the same change from the last
   * checkpoint before the finding, keeping the epochs already trained. Else null. */
  branchButton(f, error) {
    const branch = f.branch;
    if (!branch || !Number.isInteger(branch.epoch)) return null;
    const label = `Branch at epoch ${branch.epoch}`;
    const button = h("button", { type: "button", class: "btn primary small", "data-testid": "branch-fix",
      title: `${branch.fix || label}: go on from this run's checkpoint, not from scratch` }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.textContent = "Branching…";
      error.hidden = true;
      try {
        const child = await api.branch(this.runId, branch.epoch, branch.options);
        this.navigate(`/runs/${child.id}`);
      } catch (err) {
        error.textContent = `Could not branch: ${err.message}`;
        error.hidden = false;
        button.disabled = false;
        button.textContent = label;
      }
    });
    return button;
  }

  /** The fix of finding `f`; for a script's run, advice in its config's words. */
  fixText(f, patch) {
    if (!this.inScript) {
      return h("p", { class: "finding-fix small", "data-testid": "finding-fix" },
        h("span", { class: "fix-label" }, "Fix: "), f.fix || h("span", { class: "mono" }, patchText(patch)),
        f.branch?.fix ? ` — or, keeping the epochs trained: ${f.branch.fix}` : null);
    }
    const words = patch ? this.inScript(patch) : "";
    return h("p", { class: "finding-fix small", "data-testid": "finding-fix" },
      h("span", { class: "fix-label" }, "Fix (apply it in your script): "), f.fix || null,
      words ? h("span", { class: "fix-config", "data-testid": "fix-config" }, f.fix ? " — " : "",
        h("span", { class: "mono" }, words)) : null);
  }
}

/** The result of a preflight check (overfit-batch, initial-loss) at the top of its run page. */
export class Verdict {
  constructor(kind) {
    this.kind = kind;
    this.code = KINDS[kind].verdict;
    this.el = h("section", { class: "verdict", "data-testid": "verdict", role: "status", "data-verdict": "pending" });
  }

  update(run, findings) {
    const f = (findings || []).find((x) => x.code === this.code);
    const label = KINDS[this.kind].label;
    let state, head, text;
    if (f) {
      state = f.severity === "ok" ? "passed" : "failed";
      head = `${label}: ${state}`;
      text = f.message;
    } else if (FINAL.has(run.status)) {
      state = "failed";
      head = `${label}: no verdict`;
      text = `The run ended ${run.status}${run.message ? ` (${run.message})` : ""} before the doctor could judge it.`;
    } else {
      state = "pending";
      head = `${label}: checking…`;
      text = KINDS[this.kind].title;
    }
    this.el.dataset.verdict = state;
    this.el.className = `verdict verdict-${state}`;
    this.el.replaceChildren(
      h("span", { class: "verdict-icon", "aria-hidden": "true" }, state === "passed" ? "✔" : state === "failed" ? "✖" : "…"),
      h("div", {}, h("strong", { class: "verdict-head" }, head), h("p", { "data-testid": "verdict-message" }, text)));
  }
}

/**
 * The LR range test's card: its chart (lr_range.js draws into `chartEl`), the suggested learn
 * rate once the doctor has it, and "Use this": the New run form prefilled from this run's spec
 * as an ordinary training run with initial_learn_rate = the suggestion.
 */
export class LrRangeCard {
  constructor({ runId, navigate }) {
    this.runId = runId;
    this.chartEl = h("div", { class: "chart", "data-testid": "chart-lr-range" });
    this.text = h("p", { class: "lr-suggestion", "data-testid": "lr-suggested" });
    this.use = h("button", { type: "button", class: "btn primary", "data-testid": "use-suggested-lr", disabled: true },
      "Use this");
    this.use.addEventListener("click", () => {
      if (this.rate === null) return;
      navigate(newRunUrl(runId, { "options.initial_learn_rate": this.rate }));
    });
    this.rate = null;
    this.el = h("section", { class: "card lr-range", "data-testid": "lr-range" },
      h("div", { class: "lr-range-head" },
        h("div", {}, h("h2", {}, "Loss against learning rate"),
          h("p", { class: "muted small" }, "The learn rate rises exponentially every iteration until the loss explodes. A good initial learn rate is where the loss falls fastest, about a tenth of where it is lowest.")),
        h("div", { class: "lr-range-use" }, this.text, this.use)),
      this.chartEl);
    this.update(null, []);
  }

  update(run, findings) {
    const f = (findings || []).find((x) => x.code === "lr-range");
    this.rate = suggestedRate(f);
    this.use.disabled = this.rate === null;
    if (this.rate !== null) {
      this.text.replaceChildren("Suggested initial learn rate ", h("strong", { class: "mono", "data-testid": "lr-suggested-value" }, fmtNum(this.rate, 3)));
      this.text.title = f.message || "";
    } else if (f) this.text.textContent = f.message;
    else this.text.textContent = run && FINAL.has(run.status) ? "No suggestion for this run." : "The suggestion appears when the test ends.";
    return f || null;
  }
}
