// The run-spec editor, generated from GET /api/schema/run-spec and GET /api/catalog. Used by the
// new-run page and by the run page's "Restart with changes" dialog (prefilled, changes marked).

import { api } from "../api.js";
import { h } from "../format.js";

export const HINTS = {
  "options.solver": "adam is forgiving to start with; sgdm often generalises better once tuned.",
  "options.initial_learn_rate": "Loss NaN or spiking → divide by 10; barely moving → ×10.",
  "options.max_epochs": "Validation still improving at the end → more; flat long before → fewer.",
  "options.mini_batch_size": "Larger: smoother curves, fewer steps per epoch; raise the learn rate with it.",
  "options.momentum": "0.9 is standard; loss oscillates → lower it or the learn rate.",
  "options.gradient_decay_factor": "adam β1; rarely worth changing.",
  "options.squared_gradient_decay_factor": "adam β2; unstable late in training → try 0.99.",
  "options.epsilon": "adam updates blow up on tiny gradients → raise to 1e-6…1e-4.",
  "options.l2_regularization": "Overfitting (val loss rises while training falls) → ×10.",
  "options.gradient_threshold_method": "global-l2norm keeps the update's direction; best for recurrent nets.",
  "options.gradient_threshold": "Loss spikes or NaN with LSTMs → try 1 with global-l2norm; inf = no clipping.",
  "options.learn_rate_schedule": "Loss plateaus late → piecewise or cosine to fine-tune.",
  "options.learn_rate_drop_period": "Drop once the loss flattens; for plateau it counts validations.",
  "options.learn_rate_drop_factor": "0.1 is a big step; 0.5 is gentler.",
  "options.warmup_epochs": "Early spikes with a large learn rate or batch → 1–5 epochs of warm-up.",
  "options.shuffle": "every-epoch usually generalises better than once.",
  "options.validation_frequency": "About once per epoch; more often = finer curves, slower training.",
  "options.validation_patience": "5–10 stops when validation stops improving; inf never stops early.",
  "options.output_network": "best-validation-loss keeps the best weights when it overfits late.",
  "options.seed": "Repeat with another seed to see how much of a difference is noise.",
  "options.execution_environment": "auto takes a GPU when there is one.",
  "options.update_ratio_frequency": "e.g. 10: chart each layer's update/weight ratio (healthy ≈ 1e-3); 0 = off.",
  "dataset.validation_fraction": "0 turns validation (and its curves) off.",
  "dataset.test_fraction": "Held out for the final confusion matrix / predictions.",
  "dataset.max_train_samples": "Tiny (e.g. 100) to check the model can overfit at all.",
  "dataset.noise": "More noise → harder task, lower ceiling on accuracy.",
  "dataset.num_samples": "More samples → slower epochs, less overfitting.",
};

const GROUPS = [
  ["Optimizer", ["solver", "initial_learn_rate", "momentum", "gradient_decay_factor",
    "squared_gradient_decay_factor", "epsilon"]],
  ["Length and batches", ["max_epochs", "mini_batch_size", "shuffle", "seed"]],
  ["Learn-rate schedule", ["learn_rate_schedule", "learn_rate_drop_period", "learn_rate_drop_factor",
    "warmup_epochs"]],
  ["Regularisation and clipping", ["l2_regularization", "gradient_threshold_method", "gradient_threshold"]],
  ["Validation and output", ["validation_frequency", "validation_patience", "output_network"]],
  ["Hardware", ["execution_environment"]],
  ["Telemetry", ["update_ratio_frequency"]],
];

// Options that matter only for some solvers/schedules: dimmed otherwise (still editable).
const RELEVANT = {
  momentum: (o) => o.solver === "sgdm",
  gradient_decay_factor: (o) => ["adam", "adamw"].includes(o.solver),
  squared_gradient_decay_factor: (o) => ["adam", "adamw", "rmsprop"].includes(o.solver),
  epsilon: (o) => ["adam", "adamw", "rmsprop"].includes(o.solver),
  learn_rate_drop_period: (o) => ["piecewise", "exponential", "plateau"].includes(o.learn_rate_schedule),
  learn_rate_drop_factor: (o) => ["piecewise", "exponential", "plateau"].includes(o.learn_rate_schedule),
};

/** A JSON-schema property → {type, enum, nullable, allowInf, min, max, exMin, exMax, default, description}. */
function describe(prop) {
  const d = { default: prop.default, description: prop.description || "", title: prop.title };
  const parts = prop.anyOf || [prop];
  for (const p of parts) {
    if (p.type === "null") { d.nullable = true; continue; }
    if (p.const === "inf") { d.allowInf = true; continue; }
    if (p.enum) d.enum = p.enum;
    if (p.const !== undefined && !d.enum) d.const = p.const;
    if (p.type) d.type = p.type;
    for (const [k, dk] of [["minimum", "min"], ["maximum", "max"], ["exclusiveMinimum", "exMin"],
      ["exclusiveMaximum", "exMax"]]) if (p[k] !== undefined) d[dk] = p[k];
    if (p.items) d.items = p.items;
  }
  return d;
}

function rangeText(d) {
  let r = "";
  const lo = d.min ?? d.exMin, hi = d.max ?? d.exMax;
  if (lo !== undefined && hi !== undefined) {
    r = `${d.exMin !== undefined ? "(" : "["}${lo}, ${hi}${d.exMax !== undefined ? ")" : "]"}`;
  } else if (lo !== undefined) r = `${d.exMin !== undefined ? ">" : "≥"} ${lo}`;
  else if (hi !== undefined) r = `${d.exMax !== undefined ? "<" : "≤"} ${hi}`;
  if (d.type === "integer") r = r ? `integer ${r}` : "integer";
  if (d.allowInf) r = r ? `${r} or inf` : "or inf";
  return r;
}

function str(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.join(", ");
  return String(v);
}

function firstSentence(text) {
  const s = text.split(/(?<=\.)\s/)[0];
  return s.length > 140 ? `${s.slice(0, 137)}…` : s;
}

/**
 * Build the editor. `initial` is a full spec to prefill (restart) or null (new run: defaults).
 * Returns {el, collect(), collectOverrides(), showErrors(detail) → unmatched[], clearErrors()}.
 */
export function buildSpecForm(schema, catalog, initial, { markChanges = false } = {}) {
  const defs = schema.$defs || {};
  const optionProps = defs.TrainingOptions?.properties || {};
  const datasets = catalog.datasets || [];
  const fields = new Map(); // path → {el, d, wrap, initial, dirty}
  const root = h("div", { class: "spec-form" });

  function field(path, d, initialValue, { label, wide } = {}) {
    let input;
    const id = `f-${path.replace(/\W/g, "-")}-${Math.random().toString(36).slice(2, 7)}`;
    if (d.enum) {
      input = h("select", { id, "data-field": path },
        d.enum.map((v) => h("option", { value: v }, v)));
    } else if (d.type === "array" && path === "model.layers") {
      input = h("textarea", { id, "data-field": path, rows: 8, spellcheck: "false",
        placeholder: '[{"type": "fc", "units": 64}, {"type": "relu"}]' });
    } else {
      const numeric = d.type === "number" || d.type === "integer";
      input = h("input", { id, "data-field": path, type: "text", autocomplete: "off",
        inputmode: numeric && !d.allowInf ? "decimal" : null, spellcheck: "false" });
      if (d.nullable && d.default === null) input.placeholder = "auto";
    }
    const start = initialValue !== undefined ? initialValue : d.default;
    input.value = path === "model.layers" && start ? JSON.stringify(start, null, 1) : str(start);
    const range = rangeText(d);
    const meta = [];
    if (d.default !== undefined && d.default !== null && !d.const) meta.push(`default ${str(d.default)}`);
    if (range) meta.push(range);
    const hint = HINTS[path] || (d.description ? firstSentence(d.description) : "");
    const wrap = h("div", { class: `field${wide ? " wide" : ""}` },
      h("label", { for: id }, h("span", { class: "label-text" }, label || d.title || path.split(".").pop()),
        meta.length ? h("span", { class: "range" }, meta.join(" · ")) : null),
      input,
      hint ? h("div", { class: "hint", title: d.description || "" }, hint) : null);
    const f = { el: input, d, wrap, path, initial: input.value, dirty: false };
    input.addEventListener("input", () => { f.dirty = true; clearError(path); refresh(); });
    input.addEventListener("change", () => { f.dirty = true; clearError(path); refresh(); });
    fields.set(path, f);
    return wrap;
  }

  const init = initial || {};

  /* --- run: name, tags, group --- */
  const runSet = h("fieldset", { class: "group" }, h("legend", {}, "Run"));
  const runGrid = h("div", { class: "grid" });
  runGrid.append(
    field("name", { type: "string", title: "Name" }, init.name ?? "", { label: "Name" }),
    field("tags", { type: "string", title: "Tags", description: "Comma-separated labels to filter by." },
      init.tags ?? "", { label: "Tags" }),
    field("group", { type: "string", title: "Group", description: "Runs that belong together, e.g. a learn-rate sweep." },
      init.group ?? "", { label: "Group" }));
  fields.get("name").el.placeholder = "optional";
  runSet.append(runGrid);

  /* --- dataset --- */
  const dsSet = h("fieldset", { class: "group" }, h("legend", {}, "Dataset"));
  const dsGrid = h("div", { class: "grid" });
  const dsDesc = h("p", { class: "muted small ds-desc" });
  const dsNames = datasets.map((x) => x.name);
  dsGrid.append(field("dataset.name", { enum: dsNames, title: "Dataset", default: dsNames[0] },
    init.dataset?.name ?? (dsNames.includes("digits") ? "digits" : dsNames[0]), { label: "Dataset" }));
  const dsOwn = h("div", { class: "grid ds-own" });
  dsSet.append(dsGrid, dsDesc, dsOwn);
  let dsRendered = null;
  function renderDataset() {
    const name = fields.get("dataset.name").el.value;
    if (name === dsRendered) return;
    dsRendered = name;
    const ds = datasets.find((x) => x.name === name);
    dsDesc.textContent = ds ? `${ds.description} Task: ${ds.task}.` : "";
    // Keep what the user typed in fields the new dataset shares.
    const keep = {};
    for (const [p, f] of fields) {
      if (p.startsWith("dataset.") && p !== "dataset.name") {
        if (f.dirty) keep[p] = f.el.value;
        fields.delete(p);
      }
    }
    dsOwn.replaceChildren();
    const props = ds?.schema?.properties || {};
    for (const [k, prop] of Object.entries(props)) {
      if (k === "name") continue;
      const path = `dataset.${k}`;
      const startVal = init.dataset && init.dataset.name === name ? init.dataset[k] : undefined;
      dsOwn.append(field(path, describe(prop), startVal));
      if (keep[path] !== undefined) { fields.get(path).el.value = keep[path]; fields.get(path).dirty = true; }
    }
    if (name === "file" && fields.has("dataset.path")) fields.get("dataset.path").wrap.append(uploader(fields.get("dataset.path")));
  }

  /** The server reads only uploaded data: pick a file, it is uploaded, its path fills the field. */
  function uploader(pathField) {
    const picker = h("input", { type: "file", accept: ".npz,.csv", "data-testid": "dataset-upload",
      "aria-label": "Upload a .npz or .csv file" });
    const note = h("span", { class: "hint", role: "status" });
    picker.addEventListener("change", async () => {
      const file = picker.files && picker.files[0];
      if (!file) return;
      note.className = "hint";
      note.textContent = `Uploading ${file.name}…`;
      try {
        const r = await api.upload(file);
        pathField.el.value = r.path;
        pathField.el.dispatchEvent(new Event("input"));
        note.textContent = `${r.filename}: ${r.bytes.toLocaleString()} bytes uploaded`;
      } catch (err) {
        note.className = "hint error-text";
        note.textContent = `${file.name}: ${err.message}`;
      }
    });
    return h("div", { class: "upload" }, picker, note);
  }

  /* --- model --- */
  const mSet = h("fieldset", { class: "group" }, h("legend", {}, "Model"));
  const presets = catalog.model_presets || [];
  const usesLayers = Boolean(init.model && init.model.layers);
  const modeName = `model-mode-${Math.random().toString(36).slice(2, 7)}`;
  const radioPreset = h("input", { type: "radio", name: modeName, value: "preset", id: `${modeName}-p` });
  const radioLayers = h("input", { type: "radio", name: modeName, value: "layers", id: `${modeName}-l` });
  radioPreset.checked = !usesLayers;
  radioLayers.checked = usesLayers;
  const modeRow = h("div", { class: "mode-row", role: "radiogroup", "aria-label": "Model kind" },
    h("label", { for: radioPreset.id }, radioPreset, " Preset"),
    h("label", { for: radioLayers.id }, radioLayers, " Layer list (JSON)"));
  const presetWrap = field("model.preset", { enum: presets.map((p) => p.name), title: "Preset",
    default: "mlp" }, init.model?.preset ?? "mlp", { label: "Preset" });
  const presetDesc = h("p", { class: "muted small" });
  const layersWrap = field("model.layers", { type: "array", title: "Layers",
    description: `Layers up to the output; the final fc and the loss are added. Types: ${(catalog.layer_types || []).join(", ")}.` },
  init.model?.layers ?? undefined, { label: "Layers", wide: true });
  const layersInitial = fields.get("model.layers");
  if (!init.model?.layers) { layersInitial.el.value = ""; layersInitial.initial = ""; }
  mSet.append(modeRow, h("div", { class: "grid" }, presetWrap), presetDesc, layersWrap);
  for (const r of [radioPreset, radioLayers]) r.addEventListener("change", () => refresh());

  /* --- options --- */
  const optWrap = h("div", { class: "options" });
  const placed = new Set();
  const initOpts = init.options || {};
  for (const [title, keys] of [...GROUPS, ["Other", Object.keys(optionProps)]]) {
    const set = h("fieldset", { class: "group" }, h("legend", {}, title));
    const grid = h("div", { class: "grid" });
    for (const k of keys) {
      if (placed.has(k) || !optionProps[k]) continue;
      placed.add(k);
      grid.append(field(`options.${k}`, describe(optionProps[k]), initOpts[k]));
    }
    if (grid.children.length) { set.append(grid); optWrap.append(set); }
  }

  root.append(h("div", { class: "form-cols" },
    h("div", { class: "form-col" }, runSet, dsSet, mSet),
    h("div", { class: "form-col wide" }, optWrap)));

  function refresh() {
    renderDataset();
    const layers = radioLayers.checked;
    presetWrap.hidden = layers;
    presetDesc.hidden = layers;
    layersWrap.hidden = !layers;
    const preset = presets.find((p) => p.name === fields.get("model.preset").el.value);
    presetDesc.textContent = preset ? preset.description : "";
    const o = {};
    for (const [p, f] of fields) if (p.startsWith("options.")) o[p.slice(8)] = f.el.value;
    for (const [k, rel] of Object.entries(RELEVANT)) {
      const f = fields.get(`options.${k}`);
      if (f) f.wrap.classList.toggle("irrelevant", !rel(o));
    }
    const lr = fields.get("options.initial_learn_rate");
    if (lr) lr.el.placeholder = `auto (${["sgdm", "sgd"].includes(o.solver) ? "0.01" : "0.001"} for ${o.solver})`;
    if (markChanges) {
      for (const f of fields.values()) {
        const changed = f.el.value !== f.initial;
        f.el.classList.toggle("changed", changed);
        f.wrap.classList.toggle("changed", changed);
      }
      for (const r of [radioPreset, radioLayers]) r.closest("label").classList.toggle("changed", usesLayers !== radioLayers.checked);
    }
  }
  refresh();

  /* --- reading values --- */
  function parse(f) {
    const raw = f.el.value.trim();
    const d = f.d;
    if (f.path === "tags") return raw ? raw.split(",").map((s) => s.trim()).filter(Boolean) : [];
    if (f.path === "model.layers") {
      if (!raw) return [];
      try { return JSON.parse(raw); } catch { return { __bad_json__: raw }; }
    }
    if (d.enum) return raw;
    if (raw === "") return d.nullable || d.type === "string" || d.type === undefined ? null : "";
    if (d.allowInf && /^[+]?inf(inity)?$/i.test(raw)) return "inf";
    if (d.type === "number" || d.type === "integer") {
      const n = Number(raw);
      return Number.isFinite(n) && raw !== "" ? n : raw; // unparsable: the server names the problem
    }
    return raw;
  }

  function modelValue() {
    return radioLayers.checked ? { layers: parse(fields.get("model.layers")) }
      : { preset: fields.get("model.preset").el.value };
  }

  function setPath(obj, path, value) {
    const parts = path.split(".");
    let o = obj;
    for (const p of parts.slice(0, -1)) { o[p] = o[p] || {}; o = o[p]; }
    o[parts[parts.length - 1]] = value;
  }

  /** New run: the spec with the dataset name, the model, and every edited or non-default value. */
  function collect() {
    const spec = { dataset: { name: fields.get("dataset.name").el.value }, model: modelValue(), options: {} };
    for (const [p, f] of fields) {
      if (p === "dataset.name" || p.startsWith("model.")) continue;
      const isDefault = f.el.value.trim() === str(f.d.default);
      if (!f.dirty && isDefault) continue;
      const v = parse(f);
      if (p === "name" || p === "group") { if (v) spec[p] = v; continue; }
      if (p === "tags") { if (v.length) spec.tags = v; continue; }
      if (v === null && p.startsWith("options.")) continue; // empty nullable: server's automatic default
      setPath(spec, p, v);
    }
    return spec;
  }

  /** Restart: only what differs from the prefilled spec. */
  function collectOverrides() {
    const out = {};
    for (const [p, f] of fields) {
      if (p.startsWith("model.")) continue;
      if (f.el.value === f.initial) continue;
      const v = parse(f);
      if (p === "name" || p === "group" || p === "tags") { out[p] = v; continue; }
      setPath(out, p, v);
    }
    const m = modelValue();
    const initialModel = JSON.stringify(init.model || {});
    const fieldsChanged = radioLayers.checked
      ? fields.get("model.layers").el.value !== fields.get("model.layers").initial
      : fields.get("model.preset").el.value !== fields.get("model.preset").initial;
    if (usesLayers !== radioLayers.checked || (fieldsChanged && JSON.stringify(m) !== initialModel)) out.model = m;
    if (out.dataset && out.dataset.name) {
      // Another dataset: its own fields, not the parent's, so send the whole dataset part.
      out.dataset = collect().dataset;
    }
    return out;
  }

  /** Set fields to values ({"options.initial_learn_rate": 0.005}: a finding's patch, flattened)
   *  as if typed: marked changed where changes are marked, and sent. Returns the paths that
   *  have no field here. */
  function apply(values) {
    const missing = [];
    for (const [path, v] of Object.entries(values || {})) {
      const f = fields.get(path);
      if (!f) { missing.push(path); continue; }
      f.el.value = path === "model.layers" ? JSON.stringify(v, null, 1) : str(v);
      f.el.dispatchEvent(new Event("input"));
    }
    return missing;
  }

  /* --- errors --- */
  function clearError(path) {
    const f = fields.get(path);
    if (!f) return;
    f.wrap.classList.remove("invalid");
    f.el.removeAttribute("aria-invalid");
    f.wrap.querySelector(`[data-error-for="${CSS.escape(path)}"]`)?.remove();
  }

  function clearErrors() { for (const p of fields.keys()) clearError(p); }

  function pathFor(err) {
    const loc = (err.loc || []).filter((x) => x !== "body").map(String);
    const cands = [];
    if (loc[0] === "dataset" && loc.length >= 3 && dsNames.includes(loc[1])) cands.push(["dataset", ...loc.slice(2)]);
    if (loc[0] === "model") {
      if (loc.includes("layers")) cands.push(["model", "layers"]);
      else if (loc.includes("preset")) cands.push(["model", "preset"]);
    }
    cands.push(loc);
    const m = /^([\w.]+):/.exec(err.msg || "");
    if (m) cands.push(m[1].split("."));
    for (const c of cands) {
      for (let n = c.length; n > 0; n--) {
        const p = c.slice(0, n).join(".");
        if (fields.has(p) && !(p === "model.layers" && !radioLayers.checked)
          && !(p === "model.preset" && radioLayers.checked)) return p;
      }
    }
    if (loc[0] === "model") return radioLayers.checked ? "model.layers" : "model.preset";
    return null;
  }

  /** Show each error at its field; returns the messages that matched no field. */
  function showErrors(detail) {
    clearErrors();
    const unmatched = [];
    let first = null;
    for (const err of Array.isArray(detail) ? detail : []) {
      const path = pathFor(err);
      if (!path) { unmatched.push(err.msg); continue; }
      const f = fields.get(path);
      f.wrap.classList.add("invalid");
      f.el.setAttribute("aria-invalid", "true");
      let box = f.wrap.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
      if (!box) {
        box = h("div", { class: "field-error", "data-error-for": path, role: "alert" });
        f.el.after(box);
      }
      box.textContent = box.textContent ? `${box.textContent}; ${err.msg}` : err.msg;
      if (!first) first = f.el;
    }
    if (first) first.focus();
    return unmatched;
  }

  return { el: root, collect, collectOverrides, showErrors, clearErrors, apply, fields };
}
