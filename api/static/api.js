// The console's one way to the API: fetch with the bearer key kept in sessionStorage only.
const KEY = "crumbgraph.key";

export class ApiError extends Error {
  constructor(status, detail) { super(detail || `HTTP ${status}`); this.status = status; }
}

export function key() { return sessionStorage.getItem(KEY); }
export function signOut() { sessionStorage.removeItem(KEY); sessionStorage.removeItem("crumbgraph.jobs"); }

/** GET (or other method) a JSON resource; throws ApiError with the problem's detail. */
export async function api(path, { method = "GET", body, params } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const headers = { Authorization: `Bearer ${key()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) {
    if (resp.status === 401) { signOut(); location.hash = "#/signin"; }
    throw new ApiError(resp.status, data && (data.detail || data.title));
  }
  return data;
}

/** Check a key by asking who it belongs to; keep it for this browser session only if it works. */
export async function signIn(candidate) {
  const resp = await fetch("/me", { headers: { Authorization: `Bearer ${candidate}` } });
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(resp.status, data && data.detail);
  sessionStorage.setItem(KEY, candidate);
  return data;
}

/** Every page of a cursor-paged list, calling onPage(items, page) as each arrives; stops at `max` items. */
export async function allPages(path, params, onPage, max = Infinity) {
  let cursor = null, n = 0;
  do {
    const page = await api(path, { params: { ...params, cursor } });
    n += page.items.length;
    if (onPage(page.items, page) === false) return;
    cursor = page.next_cursor;
  } while (cursor && n < max);
}
