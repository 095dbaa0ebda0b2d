// Run kinds (RunSpec.kind): ordinary training and the three preflight checks. The words the UI
// uses for each, and the run names the preflight buttons give. Pure, no DOM.

export const KINDS = {
  "initial-loss": { label: "Initial loss check", button: "Check initial loss", verdict: "initial-loss",
    title: "Train one iteration: is the first loss near ln(number of classes)?" },
  "overfit-batch": { label: "Overfit batch", button: "Overfit a small batch", verdict: "overfit-batch",
    title: "Train 4 mini-batches without regularisation or validation for ~200 iterations: can the network fit them?" },
  "lr-range-test": { label: "LR range test", button: "Find learning rate", verdict: null,
    title: "Raise the learn rate exponentially each iteration until the loss explodes; suggests an initial learn rate." },
};

export const PREFLIGHT = ["initial-loss", "overfit-batch", "lr-range-test"];

export function runKind(run) { return run?.spec?.kind || "train"; }

const SEP = " · ";

/** The name a preflight run of `spec` gets: "LR range test · <its name or dataset and model>". */
export function kindName(kind, spec) {
  const base = spec.name || [spec.dataset?.name, spec.model?.preset || (spec.model?.layers ? "layers" : null)]
    .filter(Boolean).join(" ");
  return `${KINDS[kind].label}${SEP}${base}`.slice(0, 200);
}

/** The name without a preflight prefix (a train run started from a preflight run's spec). */
export function baseName(name) {
  if (!name) return name;
  for (const k of Object.values(KINDS)) {
    if (name.startsWith(k.label + SEP)) return name.slice(k.label.length + SEP.length);
  }
  return name;
}
