// fetch wrappers. Every error thrown is an ApiError carrying the server's `message` and `detail`.

export class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

async function request(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body instanceof Blob) { // a file to upload, sent as it is
    init.headers["content-type"] = "application/octet-stream";
    init.body = body;
  } else if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `cannot reach the server (${err.message})`, null);
  }
  if (resp.status === 401) {
    // The server has an API token and this browser is not signed in (or the token changed).
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, "sign in first", null);
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!resp.ok) {
    const message = (data && (data.message || (typeof data.detail === "string" && data.detail)))
      || `${method} ${path}: HTTP ${resp.status}`;
    throw new ApiError(resp.status, message, data ? data.detail : null);
  }
  return data;
}

export const api = {
  catalog: () => request("GET", "/api/catalog"),
  schema: () => request("GET", "/api/schema/run-spec"),
  runs: () => request("GET", "/api/runs?limit=5000"),
  run: (id) => request("GET", `/api/runs/${id}`),
  create: (spec) => request("POST", "/api/runs", spec),
  stop: (id) => request("POST", `/api/runs/${id}/stop`),
  resume: (id) => request("POST", `/api/runs/${id}/resume`),
  restart: (id, overrides) => request("POST", `/api/runs/${id}/restart`, overrides),
  /** A new run going on from run `id`'s checkpoint at the end of `epoch` with `options` changed. */
  branch: (id, epoch, options) => request("POST", `/api/runs/${id}/branch`, { epoch, options }),
  remove: (id) => request("DELETE", `/api/runs/${id}`),
  findings: (id) => request("GET", `/api/runs/${id}/findings`),
  /** N runs identical to run `id` but for the seed, in one group with it → {group, parent, runs}. */
  repeat: (id, count) => request("POST", `/api/runs/${id}/repeat`, { count }),
  group: (name, params = {}) => request("GET", `/api/groups/${encodeURIComponent(name)}?${new URLSearchParams(params)}`),
  sweeps: () => request("GET", "/api/sweeps?limit=1000"),
  sweep: (id) => request("GET", `/api/sweeps/${id}`),
  createSweep: (body) => request("POST", "/api/sweeps", body),
  stopSweep: (id) => request("POST", `/api/sweeps/${id}/stop`),
  /** A .npz/.csv File → {path, bytes, filename}: the path a "file" dataset names. */
  upload: (file) => request("POST", `/api/datasets?filename=${encodeURIComponent(file.name)}`, file),
  /** The registered entry points (the user's own code): [{name, kind, schema, roles, supports}]. */
  entrypoints: () => request("GET", "/api/entrypoints"),
  /** A script run's console lines after line `after` → {lines: [{n, stream, text}], next, skipped}. */
  logs: (id, after = 0, limit = 5000) => request("GET", `/api/runs/${id}/logs?after=${after}&limit=${limit}`),
  artefacts: (id) => request("GET", `/api/runs/${id}/artefacts`),
  metrics: (id, params = {}) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, v);
    return request("GET", `/api/runs/${id}/metrics?${q}`);
  },
};

