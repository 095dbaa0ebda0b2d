// An entry point's options form, generated from its JSON Schema (GET /api/entrypoints): one
// field per property, keyed `args.<option>` (the argparse dest or the model's field name).
// Types become inputs: boolean → checkbox, enum → select, number/integer → text with a range,
// array → a comma list, string (and paths) → text. Used by the New run page (defaults shown,
// only changed values sent) and by a script run's Restart with changes (prefilled from its
// args, changed fields highlighted, only they sent).

import { h } from "../format.js";

/** A property → {type, itemType, enum, nullable, min, max, exMin, exMax, default, description}. */
export function describeArg(prop) {
  const d = { default: prop.default, description: prop.description || "", title: prop.title };
  for (const p of prop.anyOf || prop.oneOf || [prop]) {
    if (p.type === "null") { d.nullable = true; continue; }
    if (p.enum) d.enum = p.enum;
    if (p.type) d.type = p.type;
    if (p.format) d.format = p.format;
    if (p.items) { d.itemType = p.items.type; if (p.items.enum) d.itemEnum = p.items.enum; }
    for (const [k, dk] of [["minimum", "min"], ["maximum", "max"], ["exclusiveMinimum", "exMin"],
      ["exclusiveMaximum", "exMax"]]) if (p[k] !== undefined) d[dk] = p[k];
  }
  return d;
}

function rangeText(d) {
  const lo = d.min ?? d.exMin, hi = d.max ?? d.exMax;
  let r = "";
  if (lo !== undefined && hi !== undefined) r = `${d.exMin !== undefined ? "(" : "["}${lo}, ${hi}${d.exMax !== undefined ? ")" : "]"}`;
  else if (lo !== undefined) r = `${d.exMin !== undefined ? ">" : "≥"} ${lo}`;
  else if (hi !== undefined) r = `${d.exMax !== undefined ? "<" : "≤"} ${hi}`;
  const type = d.type === "array" ? `list of ${d.itemType || "values"}` : d.format === "path" ? "path" : d.type;
  return [type, r].filter(Boolean).join(" ");
}

/** An arg's value as the form shows it (lists as "a, b"). */
export function argText(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map((x) => String(x)).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function parseScalar(raw, type) {
  if (type === "number" || type === "integer") {
    const n = Number(raw);
    return raw !== "" && Number.isFinite(n) ? n : raw; // unparsable: the server names the problem
  }
  if (type === "boolean") return raw === "true" ? true : raw === "false" ? false : raw;
  return raw;
}

/**
 * Build the form for entry point `ep` ({name, schema, roles}). `initial`: args to prefill (a
 * restart) or null (the schema's defaults). Returns {el, collect(), collectOverrides(),
 * showErrors(detail) → unmatched messages, clearErrors(), apply(values), fields}.
 */
export function buildArgsForm(ep, initial = null, { markChanges = false } = {}) {
  const props = ep.schema?.properties || {};
  const required = new Set(ep.schema?.required || []);
  const roleOf = {};
  for (const [role, opt] of Object.entries(ep.roles || {})) if (opt) roleOf[opt] = role.replace(/_/g, " ");
  const fields = new Map(); // "args.x" → {el, d, wrap, name, initial, dirty}
  const grid = h("div", { class: "grid" });
  const root = h("div", { class: "spec-form args-form", "data-testid": "args-form", "data-entrypoint": ep.name },
    h("fieldset", { class: "group" }, h("legend", {}, `Options of ${ep.name}`), grid));

  const value = (f) => (f.d.type === "boolean" ? String(f.el.checked) : f.el.value);

  for (const [name, prop] of Object.entries(props)) {
    const d = describeArg(prop);
    const path = `args.${name}`;
    const id = `a-${name.replace(/\W/g, "-")}-${Math.random().toString(36).slice(2, 7)}`;
    const start = initial && name in initial ? initial[name] : d.default;
    let input;
    if (d.type === "boolean") {
      input = h("input", { id, type: "checkbox", "data-field": path });
      input.checked = Boolean(start);
    } else if (d.enum) {
      input = h("select", { id, "data-field": path },
        d.nullable && !d.enum.includes(null) ? h("option", { value: "" }, "—") : null,
        d.enum.filter((v) => v !== null).map((v) => h("option", { value: String(v) }, String(v))));
      input.value = argText(start);
    } else {
      const numeric = d.type === "number" || d.type === "integer";
      input = h("input", { id, type: "text", "data-field": path, autocomplete: "off", spellcheck: "false",
        inputmode: numeric ? "decimal" : null,
        placeholder: d.type === "array" ? "comma-separated" : d.nullable ? "none" : null });
      input.value = argText(start);
    }
    if (required.has(name)) input.setAttribute("aria-required", "true");
    const meta = [];
    if (d.default !== undefined && d.default !== null) meta.push(`default ${argText(d.default)}`);
    const range = rangeText(d);
    if (range) meta.push(range);
    const role = roleOf[name];
    const label = h("label", { for: id },
      d.type === "boolean" ? input : null,
      h("span", { class: "label-text mono" }, name),
      required.has(name) ? h("span", { class: "required", title: "required" }, " *") : null,
      role ? h("span", { class: "role-badge", title: `trainscope reads this option as the ${role}` }, role) : null,
      meta.length ? h("span", { class: "range" }, meta.join(" · ")) : null);
    const wrap = h("div", { class: `field${d.type === "boolean" ? " check-field" : ""}`, "data-arg": name },
      label, d.type === "boolean" ? null : input,
      d.description ? h("div", { class: "hint" }, d.description) : null);
    const f = { el: input, d, wrap, name, path, initial: null, dirty: false };
    f.initial = value(f);
    const touched = () => { f.dirty = true; clearError(path); refresh(); };
    input.addEventListener("input", touched);
    input.addEventListener("change", touched);
    fields.set(path, f);
    grid.append(wrap);
  }
  if (!fields.size) grid.append(h("p", { class: "muted small" }, `${ep.name} has no options.`));

  function refresh() {
    if (!markChanges) return;
    for (const f of fields.values()) {
      const changed = value(f) !== f.initial;
      f.el.classList.toggle("changed", changed);
      f.wrap.classList.toggle("changed", changed);
    }
  }

  function parse(f) {
    const d = f.d;
    if (d.type === "boolean") return f.el.checked;
    const raw = f.el.value.trim();
    if (raw === "") return d.nullable ? null : d.type === "string" || d.enum ? "" : raw;
    if (d.type === "array") return raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => parseScalar(s, d.itemType));
    if (d.enum) {
      const hit = d.enum.find((v) => String(v) === raw);
      return hit !== undefined ? hit : raw;
    }
    return parseScalar(raw, d.type);
  }

  /** New run: every value changed from its default, and every required one. */
  function collect() {
    const args = {};
    for (const f of fields.values()) {
      if (value(f) === f.initial && !required.has(f.name)) continue;
      args[f.name] = parse(f);
    }
    return args;
  }

  /** Restart: only what differs from the prefilled args. */
  function collectOverrides() {
    const args = {};
    for (const f of fields.values()) if (value(f) !== f.initial) args[f.name] = parse(f);
    return args;
  }

  /** Set fields as if typed ({"args.lr": 0.01} or {"lr": 0.01}); returns names with no field. */
  function apply(values) {
    const missing = [];
    for (const [k, v] of Object.entries(values || {})) {
      const f = fields.get(k.startsWith("args.") ? k : `args.${k}`);
      if (!f) { missing.push(k); continue; }
      if (f.d.type === "boolean") f.el.checked = v === true || v === "true";
      else f.el.value = argText(v);
      f.el.dispatchEvent(new Event("input"));
    }
    return missing;
  }

  function clearError(path) {
    const f = fields.get(path);
    if (!f) return;
    f.wrap.classList.remove("invalid");
    f.el.removeAttribute("aria-invalid");
    f.wrap.querySelector(`[data-error-for="${CSS.escape(path)}"]`)?.remove();
  }
  function clearErrors() { for (const p of fields.keys()) clearError(p); }

  /** A 422's detail: loc ["body", "args", OPTION] (or a message "args.OPTION: …") at its field. */
  function showErrors(detail) {
    clearErrors();
    const unmatched = [];
    let first = null;
    for (const err of Array.isArray(detail) ? detail : []) {
      const loc = (err.loc || []).map(String);
      const at = loc.indexOf("args");
      let name = at >= 0 ? loc[at + 1] : null;
      if (!name) name = /^args\.([\w-]+)/.exec(err.msg || "")?.[1] ?? null;
      const f = name ? fields.get(`args.${name}`) : null;
      if (!f) { unmatched.push(err.msg); continue; }
      f.wrap.classList.add("invalid");
      f.el.setAttribute("aria-invalid", "true");
      let box = f.wrap.querySelector(`[data-error-for="${CSS.escape(f.path)}"]`);
      if (!box) {
        box = h("div", { class: "field-error", "data-error-for": f.path, role: "alert" });
        f.wrap.append(box);
      }
      const msg = String(err.msg || "").replace(/^args\.[\w-]+:\s*/, "");
      box.textContent = box.textContent ? `${box.textContent}; ${msg}` : msg;
      if (!first) first = f.el;
    }
    first?.focus();
    return unmatched;
  }

  refresh();
  return { el: root, collect, collectOverrides, showErrors, clearErrors, apply, fields };
}
