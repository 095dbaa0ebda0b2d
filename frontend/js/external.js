// External runs: runs a user's own training script logs through the SDK (`trainscope.init`,
// docs/sdk.md). spec.kind "external", no dataset or model, spec.config as the script gave it,
// the training options its config named mirrored into spec.options (info.mirrored_options: the
// rest of spec.options are defaults the script never said), info.client (host, pid, python,
// sdk). Pure helpers, no DOM.

import { flatten } from "./format.js";

export const EXTERNAL = "external";

export function isExternal(run) { return run?.spec?.kind === EXTERNAL; }

/** The options the script's config named (the only ones of spec.options that mean anything). */
export function mirroredOptions(run) {
  const names = run?.info?.mirrored_options || [];
  const opts = run?.spec?.options || {};
  const out = {};
  for (const k of names) if (k in opts) out[k] = opts[k];
  return out;
}

/** The epochs the run means to train, when anyone said (null for a script that did not). */
export function maxEpochsOf(run) {
  const p = run?.progress || {};
  if (isExternal(run)) return p.max_epochs ?? run.info?.max_epochs ?? null;
  return p.max_epochs ?? run?.spec?.options?.max_epochs ?? null;
}

/** Progress in words that assume nothing the run did not say: "epoch 2/4", "epoch 2 · step
 *  340", "step 340". */
export function externalProgress(run) {
  const p = run?.progress || {};
  const max = maxEpochsOf(run);
  const ep = p.epoch || 0;
  if (max) return `epoch ${ep}/${max}`;
  if (ep) return `epoch ${ep} · step ${p.iteration || 0}`;
  return `step ${p.iteration || 0}`;
}

/**
 * The config as rows for a nested key/value table, depth first in the script's own order:
 * {depth, key, path, value?, branch}. A branch (a non-empty object) is a heading row with its
 * children after it; arrays and scalars are leaves.
 */
export function configRows(config, depth = 0, prefix = "", out = []) {
  for (const [key, value] of Object.entries(config || {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    const branch = value !== null && typeof value === "object" && !Array.isArray(value)
      && Object.keys(value).length > 0;
    if (branch) {
      out.push({ depth, key, path, branch: true });
      configRows(value, depth + 1, path, out);
    } else out.push({ depth, key, path, value, branch: false });
  }
  return out;
}

/** A config value as people read it: strings as they are, everything else as JSON. */
export function fmtConfigValue(v) {
  if (typeof v === "string") return v;
  if (v === undefined) return "—";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v);
}

// The config keys scripts commonly use for each training option (the server's CONFIG_ALIASES,
// schemas/external.py), to say a fix in the script's words.
const ALIASES = {
  initial_learn_rate: ["lr", "learning_rate", "learn_rate", "initial_lr", "initiallearnrate"],
  max_epochs: ["epochs", "num_epochs", "n_epochs", "maxepochs"],
  mini_batch_size: ["batch_size", "minibatchsize"],
  solver: ["optimizer", "optim"],
  l2_regularization: ["weight_decay", "wd", "l2regularization"],
  gradient_threshold: ["grad_clip", "clip_grad_norm", "max_grad_norm", "gradientthreshold"],
  learn_rate_schedule: ["scheduler", "lr_schedule", "learnrateschedule"],
  gradient_decay_factor: ["beta1", "gradientdecayfactor"],
  squared_gradient_decay_factor: ["beta2", "squaredgradientdecayfactor"],
  epsilon: ["eps"],
};

/**
 * The config path the script gave option `name` under (e.g. "optimizer.lr" for
 * initial_learn_rate), or null: the leaf whose key names the option and whose value is the
 * mirrored one, the outermost first (the server's rule).
 */
export function configPathFor(run, name) {
  const mirrored = mirroredOptions(run);
  if (!(name in mirrored)) return null;
  const keys = new Set([name, ...(ALIASES[name] || [])]);
  const want = String(mirrored[name]).toLowerCase();
  const rows = configRows(run.spec?.config).filter((r) => !r.branch && keys.has(String(r.key).toLowerCase())
    && String(r.value).toLowerCase() === want);
  rows.sort((a, b) => a.depth - b.depth);
  return rows.length ? rows[0].path : null;
}

/** A doctor's options patch in the script's words: "optimizer.lr → 0.001" where its config
 *  named the option, the option's own name otherwise. */
export function patchInScript(run, patch) {
  return Object.entries(flatten(patch)).filter(([k]) => k.startsWith("options.")).map(([k, v]) => {
    const name = k.slice("options.".length);
    const path = configPathFor(run, name);
    return `${path ? `config.${path}` : name} → ${fmtConfigValue(v)}`;
  }).join(", ");
}
