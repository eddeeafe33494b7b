// The console's views, one function per #/route; each fetches through api.js and renders plain DOM.
import { allPages, api, key } from "./api.js";
import { drawNeighbourhood, drawPathways, hopsOf, nodeKey, pathwayText } from "./draw.js";

/** Build an element: h("a", {href}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

const enc = encodeURIComponent;
/** Replace a view's content, skipping the parts a role does not get (null). */
const show = (main, ...parts) => main.replaceChildren(...parts.filter((x) => x !== null && x !== undefined));
const fmt = (x) => (typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toFixed(3)) : x ?? "");
const status = (text) => { document.getElementById("status").textContent = text; };
const runOf = (params) => params.run || "latest";
const pill = (label) => h("span", { class: `pill ${label}` }, label.replace("_", " "));

function props(obj) {
  return h("dl", { class: "props" }, Object.entries(obj || {}).flatMap(([k, v]) =>
    [h("dt", {}, k), h("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : fmt(v))]));
}

/** A table whose header buttons sort it; rows: objects; cols: [key, title, render?, numeric?]. */
function sortableTable(cols, rows, { onRow, limit = 500, caption } = {}) {
  let key = null, dir = -1;
  const tbody = h("tbody");
  const more = h("p", { class: "muted" });
  const paint = () => {
    const sorted = key === null ? rows : [...rows].sort((a, b) => {
      const va = a[key], vb = b[key];
      return (typeof va === "number" && typeof vb === "number" ? va - vb : String(va ?? "").localeCompare(String(vb ?? ""))) * dir;
    });
    tbody.replaceChildren(...sorted.slice(0, limit).map((r) => {
      const tr = h("tr", { class: onRow ? "row-link" : null }, cols.map(([k, , render, num]) =>
        h("td", { class: num ? "num" : null }, render ? render(r) : fmt(r[k]))));
      if (onRow) tr.addEventListener("click", (ev) => { if (!ev.target.closest("a,button")) onRow(r); });
      return tr;
    }));
    more.textContent = rows.length > limit ? `Showing ${limit} of ${rows.length} rows; sort or filter to see others.` : "";
  };
  const head = h("tr", {}, cols.map(([k, title, , num]) => {
    const th = h("th", { scope: "col", class: num ? "num" : null, "aria-sort": "none" });
    th.append(h("button", { type: "button", onclick: () => {
      dir = key === k ? -dir : (num ? -1 : 1); key = k;
      for (const x of head.children) x.setAttribute("aria-sort", "none");
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      paint();
    } }, title));
    return th;
  }));
  paint();
  const table = h("table", {}, caption ? h("caption", { class: "muted" }, caption) : null, h("thead", {}, head), tbody);
  return { el: h("div", {}, table, more), repaint: (newRows) => { rows = newRows; paint(); } };
}

// -- runs ------------------------------------------------------------------------------
const JOBS = "crumbgraph.jobs";
const myJobs = () => JSON.parse(sessionStorage.getItem(JOBS) || "[]");

export async function runs(main, { me }) {
  const data = await api("/runs");
  const jobsBox = h("div", { "aria-live": "polite" });
  const t = sortableTable([["run_id", "Run", (r) => h("a", { href: `#/run/${enc(r.run_id)}` }, r.run_id)],
                           ["started_at", "Started"], ["finished_at", "Finished"],
                           ["detectors", "Detectors", (r) => (r.detectors || []).map((d) => d.name || d).join(", ")],
                           ["snapshot_digest", "Snapshot", (r) => String(r.snapshot_digest || "").replace("sha256:", "").slice(0, 16)]],
                          data.items, { onRow: (r) => { location.hash = `#/run/${enc(r.run_id)}`; } });
  const reload = async () => t.repaint((await api("/runs")).items);
  const start = me.role === "investigator" ? h("button", { type: "button", onclick: async () => {
    const job = await api("/runs", { method: "POST", body: {} });
    sessionStorage.setItem(JOBS, JSON.stringify([job.job_id, ...myJobs()].slice(0, 10)));
    pollJobs(jobsBox, reload, true);
  } }, "Start a detector run") : null;
  show(main, h("h1", {}, "Runs"), h("div", { class: "toolbar" }, start), jobsBox,
                       h("h2", {}, `Run records (${data.items.length})`), t.el);
  if (me.role === "investigator") pollJobs(jobsBox, reload);
}

const progressText = (p) => (Array.isArray(p) && p.length === 2 && typeof p[1] === "number" ? `${p[0]} (${Math.round(p[1] * 100)}%)`
                                                                                           : JSON.stringify(p));

/** Live status of the jobs started from this tab: polled every second while any is queued or running. */
async function pollJobs(box, onFinished, wasBusy = false) {
  const ids = myJobs();
  if (!ids.length || !box.isConnected) return;
  const jobs = (await Promise.all(ids.map((id) => api(`/run-jobs/${enc(id)}`).catch(() => null)))).filter(Boolean);
  box.replaceChildren(h("h2", {}, "Your jobs"), h("table", {}, h("thead", {}, h("tr", {}, ["Job", "Status", "Progress", "Run"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, jobs.map((j) => h("tr", { "data-job": j.job_id }, h("td", {}, j.job_id), h("td", { class: "job-status" }, j.status),
      h("td", {}, j.error || (j.progress ? progressText(j.progress) : "")),
      h("td", {}, j.run_id ? h("a", { href: `#/run/${enc(j.run_id)}` }, j.run_id) : ""))))));
  const busy = jobs.some((j) => j.status === "queued" || j.status === "running");
  if (busy) setTimeout(() => pollJobs(box, onFinished, true), 1000);
  else if (wasBusy && onFinished) await onFinished();
}

export async function run(main, { id }) {
  const record = await api(`/runs/${enc(id)}`);
  const summary = await api(`/runs/${enc(id)}/results`, { params: { limit: 1 } }).catch(() => null);
  show(main, h("h1", {}, `Run ${record.run_id}`),
    summary ? h("p", {}, `${summary.counts.pathways} pathways · ${summary.counts.clusters} clusters · ${summary.counts.flagged_accounts} flagged accounts`) : null,
    h("div", { class: "card" }, props(record)));
}

// -- flagged accounts ------------------------------------------------------------------
export async function flagged(main, { params }) {
  const runId = runOf(params);
  const role = h("select", { id: "f-role" }, ["", "bridge", "cluster_member", "suspicious_contact"].map((r) =>
    h("option", { value: r, selected: r === (params.role || "") }, r ? r.replace("_", " ") : "all roles")));
  const text = h("input", { id: "f-text", type: "search", placeholder: "account or cluster id" });
  const minScore = h("input", { id: "f-min", type: "number", step: "any", placeholder: "0", size: 6 });
  const info = h("p", { class: "muted", "aria-live": "polite" });
  let rows = [], total = 0;
  const cols = [["account_id", "Account", (r) => h("a", { href: `#/account/${enc(r.account_id)}?run=${enc(runId)}` }, r.account_id)],
                ["role", "Role", (r) => pill(r.role)], ["score", "Score", null, true], ["cluster_id", "Cluster",
                (r) => (r.cluster_id ? h("a", { href: `#/cluster/${enc(r.cluster_id)}?run=${enc(runId)}` }, r.cluster_id) : "")],
                ["n_pathways", "Pathways", null, true]];
  const table = sortableTable(cols, [], { onRow: (r) => { location.hash = `#/account/${enc(r.account_id)}?run=${enc(runId)}`; } });
  const filtered = () => {
    const q = text.value.trim().toLowerCase(), m = parseFloat(minScore.value);
    return rows.filter((r) => (!q || r.account_id.toLowerCase().includes(q) || String(r.cluster_id || "").toLowerCase().includes(q))
                              && (Number.isNaN(m) || r.score >= m));
  };
  const refresh = () => { const f = filtered(); table.repaint(f); info.textContent = `${f.length} shown · ${rows.length} loaded of ${total} flagged (run ${runId}, highest score first)`; };
  text.addEventListener("input", refresh); minScore.addEventListener("input", refresh);
  role.addEventListener("change", () => { location.hash = `#/flagged?run=${enc(runId)}${role.value ? "&role=" + role.value : ""}`; });
  show(main, h("h1", {}, "Flagged accounts"),
    h("div", { class: "toolbar" }, h("label", {}, "Role", role), h("label", {}, "Filter", text), h("label", {}, "Min score", minScore)),
    info, table.el);
  const t0 = performance.now();
  let first = true;
  await allPages(`/runs/${enc(runId)}/flagged-accounts`, { role: params.role, limit: 500 }, (items, page) => {
    if (!main.isConnected || !info.isConnected) return false;
    total = page.total;
    rows = rows.concat(items.map((a) => ({ ...a, n_pathways: (a.pathways || []).length })));
    refresh();
    if (first) {  // measured by bench/bench_console.py: since navigation start, and since the request
      first = false;
      window.crumbgraphFlaggedPaint = { sinceNavigation: performance.now(), sinceRequest: performance.now() - t0 };
      status(`first ${items.length} rows in ${Math.round(window.crumbgraphFlaggedPaint.sinceRequest)} ms`);
    }
  }, 20000);
}

// -- clusters --------------------------------------------------------------------------
export async function clusters(main, { params }) {
  const runId = runOf(params);
  const rows = [];
  await allPages(`/runs/${enc(runId)}/clusters`, { limit: 500 }, (items) => { rows.push(...items); }, 5000);
  const t = sortableTable([["cluster_id", "Cluster", (c) => h("a", { href: `#/cluster/${enc(c.cluster_id)}?run=${enc(runId)}` }, c.cluster_id)],
                           ["size", "Accounts", null, true], ["content_n", "Content", null, true], ["abusive_share", "Labelled share", null, true],
                           ["score", "Score", null, true]],
                          rows.map((c) => ({ ...c, size: c.accounts.length, content_n: c.content.length, abusive_share: share(c) })),
                          { onRow: (c) => { location.hash = `#/cluster/${enc(c.cluster_id)}?run=${enc(runId)}`; } });
  show(main, h("h1", {}, "Clusters"), t.el);
}

const share = (c) => (c.labelled_accounts !== undefined && c.accounts.length ? c.labelled_accounts / c.accounts.length : null);

export async function cluster(main, { id, params, me }) {
  const runId = runOf(params);
  const c = await api(`/runs/${enc(runId)}/clusters/${enc(id)}`);
  const entry = await api(`/runs/${enc(runId)}/pathways`, { params: { cluster_id: id, limit: 50 } });
  const s = share(c);
  show(main, h("h1", {}, `Cluster ${c.cluster_id}`),
    caseButton(me, runId, [{ kind: "cluster", id: c.cluster_id }], `Cluster ${c.cluster_id}`),
    h("div", { class: "card" }, h("dl", { class: "props" },
      h("dt", {}, "Size (accounts)"), h("dd", { id: "c-size" }, c.accounts.length),
      h("dt", {}, "Content"), h("dd", {}, c.content.length),
      h("dt", {}, "Labelled-abusive share"), h("dd", {}, s === null ? "not reported" : `${(s * 100).toFixed(0)}% (${c.labelled_accounts} of ${c.accounts.length} accounts)`),
      h("dt", {}, "Score"), h("dd", {}, fmt(c.score)), h("dt", {}, "Entry pathways"), h("dd", {}, c.entry_pathways))),
    h("h2", {}, `Entry pathways (top ${entry.items.length} of ${entry.total})`), pathwayList(entry.items, runId),
    h("h2", {}, "Members"), h("ul", { class: "members" }, c.accounts.map((a) => h("li", {}, h("a", { href: `#/account/${enc(a)}?run=${enc(runId)}` }, a)))));
}

function pathwayList(items, runId) {
  return h("ol", {}, items.map((p) => h("li", {}, h("a", { href: `#/pathway/${enc(p.pathway_id)}?run=${enc(runId)}` }, p.pathway_id),
    ` · score ${fmt(p.score)} · `, h("span", { class: "pathline" }, pathwayText(p)))));
}

// -- pathway ---------------------------------------------------------------------------
export async function pathway(main, { id, params, me }) {
  const runId = runOf(params);
  const p = await api(`/runs/${enc(runId)}/pathways/${enc(id)}`);
  const same = await api(`/runs/${enc(runId)}/pathways`, { params: { source_id: p.source.id, limit: 25 } });
  const all = same.items.some((q) => q.pathway_id === p.pathway_id) ? same.items : [p, ...same.items];
  const c = p.cluster_id ? await api(`/runs/${enc(runId)}/clusters/${enc(p.cluster_id)}`).catch(() => null) : null;
  // the crumb-laying accounts: the run's bridges on these pathways (who created each hop is in created_by)
  const bridges = new Set(all.flatMap((q) => q.bridges || []));
  const ctx = { child: new Set([nodeKey(p.source)]), clusterAccounts: new Set(c ? c.accounts : []),
                clusterContent: new Set(c ? c.content : []), bridges, crumb: bridges };
  const svg = drawPathways(all, p.pathway_id, ctx);
  const layers = hopsOf(p);
  show(main, h("h1", {}, `Pathway ${p.pathway_id}`),
    caseButton(me, runId, [{ kind: "pathway", id: p.pathway_id }], `Pathway ${p.pathway_id}`),
    h("p", {}, `Score ${fmt(p.score)} · from ${p.source.kind} ${p.source.id} into cluster `,
      p.cluster_id ? h("a", { href: `#/cluster/${enc(p.cluster_id)}?run=${enc(runId)}` }, p.cluster_id) : "—",
      ` · ${layers.length} hops · drawn with ${all.length - 1} other pathway(s) from the same source (of ${same.total})`),
    h("h2", {}, "As text"), h("p", { class: "pathline", id: "pathway-text" }, pathwayText(p)),
    legend(),
    h("div", { class: "drawing scroll", id: "pathway-drawing" }, svg),
    h("h2", {}, "Hops"),
    h("table", { id: "hops" }, h("thead", {}, h("tr", {}, ["#", "From", "Edge", "To", "When", "Laid by"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, layers.map((x, i) => h("tr", {}, h("td", {}, i + 1), h("td", {}, nodeKey(x.src)),
        h("td", {}, x.dir === "backward" ? `← ${x.type}` : `${x.type} →`), h("td", {}, nodeKey(x.dst)), h("td", {}, x.at || ""),
        h("td", {}, x.by ? [h("a", { href: `#/account/${enc(x.by)}?run=${enc(runId)}` }, x.by), bridges.has(x.by) ? [" ", pill("bridge")] : null] : ""))))),
    bridges.size ? h("p", {}, "Crumb-laying (bridge) accounts: ", [...bridges].map((b) => [h("a", { href: `#/account/${enc(b)}?run=${enc(runId)}` }, b), " "])) : null,
    h("h2", {}, "Other pathways from this source"), pathwayList(all.filter((q) => q.pathway_id !== p.pathway_id), runId));
}

function legend() {
  const item = (cls, text) => h("span", {}, h("i", { class: `sw sw-${cls}` }), text);
  return h("div", { class: "legend", "aria-hidden": "true" }, item("child", "child-oriented source"), item("abuse", "abusive (cluster content)"),
           item("bridge", "bridge / crumb-laying account (thick purple)"), item("member", "cluster member (dashed)"),
           h("span", {}, "● account  ■ content  ◆ url  ▬ hashtag"));
}

// -- account ---------------------------------------------------------------------------
export async function account(main, { id, params, me }) {
  const runId = runOf(params);
  const a = await api(`/accounts/${enc(id)}`, { params: { run_id: runId } });
  const pws = await api(`/accounts/${enc(id)}/pathways`, { params: { run_id: runId, limit: 50 } }).catch(() => ({ items: [], total: 0 }));
  const hood = await api(`/accounts/${enc(id)}/neighbourhood`, { params: { hops: 1, limit: 150 } });
  const clusterAccounts = new Set(), bridges = new Set();
  if (a.flag && a.flag.role === "bridge") bridges.add(a.account_id);
  if (a.clusters.length) clusterAccounts.add(a.account_id);
  const drawing = drawNeighbourhood(hood, { clusterAccounts, bridges });
  show(main, h("h1", {}, `Account ${a.account_id}`),
    caseButton(me, a.run_id || runId, [{ kind: "account", id: a.account_id }], `Account ${a.account_id}`),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Properties"), h("div", { class: "card" }, props(a.properties)),
        h("h2", {}, "Flags"), a.flag ? h("div", { class: "card" }, pill(a.flag.role), props({ ...a.flag, pathways: (a.flag.pathways || []).length }))
                                       : h("p", { class: "muted" }, "Not flagged in this run."),
        h("h2", {}, "Clusters"), a.clusters.length ? h("ul", {}, a.clusters.map((c) => h("li", {}, h("a", { href: `#/cluster/${enc(c)}?run=${enc(runId)}` }, c))))
                                                   : h("p", { class: "muted" }, "None.")),
      h("div", {}, h("h2", {}, `Neighbourhood (1 hop, ${hood.nodes.length} nodes${hood.truncated ? ", truncated" : ""})`), drawing)),
    h("h2", {}, `Pathways through this account (${pws.items.length} of ${pws.total})`), pathwayList(pws.items, runId));
}

// -- cases -----------------------------------------------------------------------------
function caseButton(me, runId, items, title) {
  if (me.role !== "investigator") return null;
  const box = h("div", { class: "toolbar" });
  const open = h("button", { type: "button", class: "secondary", onclick: () => {
    const t = h("input", { name: "title", required: true, value: title, size: 40 });
    const n = h("textarea", { name: "note", required: true, rows: 2, cols: 50 });
    const err = h("span", { class: "error", role: "alert" });
    const form = h("form", { class: "card", "aria-label": "Open a case" }, h("label", {}, "Title", t), h("label", {}, "Note (required)", n),
      h("button", { type: "submit" }, "Open case"), err);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const c = await api("/cases", { method: "POST", body: { title: t.value, note: n.value, items, run_id: runId === "latest" ? (await api("/runs/latest")).run_id : runId } });
        location.hash = `#/case/${enc(c.case_id)}`;
      } catch (e) { err.textContent = e.message; }
    });
    box.replaceChildren(form); n.focus();
  } }, "Open a case from this");
  box.append(open);
  return box;
}

export async function cases(main, { params, me }) {
  const data = await api("/cases", { params: { status: params.status } });
  const sel = h("select", { id: "case-status" }, ["", "open", "in_progress", "confirmed", "dismissed"].map((s) =>
    h("option", { value: s, selected: s === (params.status || "") }, s ? s.replace("_", " ") : "any status")));
  sel.addEventListener("change", () => { location.hash = `#/cases${sel.value ? "?status=" + sel.value : ""}`; });
  const t = sortableTable([["case_id", "Case", (c) => h("a", { href: `#/case/${enc(c.case_id)}` }, c.case_id)], ["title", "Title"],
                           ["status", "Status"], ["assignee", "Assignee"], ["updated_at", "Updated"], ["n_items", "Items", null, true]],
                          data.items.map((c) => ({ ...c, n_items: c.items.length })), { onRow: (c) => { location.hash = `#/case/${enc(c.case_id)}`; } });
  show(main, h("h1", {}, me.role === "law_enforcement" ? "Cases shared with you" : "Cases"),
    h("div", { class: "toolbar" }, h("label", {}, "Status", sel)), data.items.length ? t.el : h("p", { class: "muted" }, "No cases."));
}

const NEXT = { open: ["in_progress", "dismissed"], in_progress: ["confirmed", "dismissed", "open"], confirmed: [], dismissed: [] };

export async function case_(main, { id, me }) {
  const c = await api(`/cases/${enc(id)}`);
  const hist = await api(`/cases/${enc(id)}/history`);
  const itemLink = (i) => {
    const href = { account: `#/account/${enc(i.id)}`, pathway: `#/pathway/${enc(i.id)}`, cluster: `#/cluster/${enc(i.id)}` }[i.kind];
    const q = c.run_id ? `?run=${enc(c.run_id)}` : "";
    return href && me.role === "investigator" ? h("a", { href: href + q }, `${i.kind} ${i.id}`) : `${i.kind} ${i.id}`;
  };
  const actions = me.role === "investigator" ? caseActions(c, () => case_(main, { id, me })) : null;
  show(main, h("h1", {}, `Case: ${c.title}`),
    h("div", { class: "card" }, h("dl", { class: "props" },
      h("dt", {}, "Case"), h("dd", {}, c.case_id), h("dt", {}, "Status"), h("dd", { id: "case-state" }, c.status),
      h("dt", {}, "Assignee"), h("dd", { id: "case-assignee" }, c.assignee || "—"), h("dt", {}, "Run"), h("dd", {}, c.run_id || "—"),
      h("dt", {}, "Opened"), h("dd", {}, `${c.created_at} by ${c.created_by}`), h("dt", {}, "Shared with"), h("dd", { id: "case-shared" }, c.shared_with.join(", ") || "nobody"))),
    actions,
    me.role === "investigator" ? exportPanel(c) : null,
    await casePackages(c),
    h("h2", {}, "Items"), h("ul", {}, c.items.map((i) => h("li", {}, itemLink(i), h("span", { class: "muted" }, ` added by ${i.added_by} ${i.added_at}`)))),
    h("h2", {}, "History"), h("ol", { id: "case-history" }, hist.items.map((e) => h("li", {},
      h("strong", {}, e.action), ` ${e.at} by ${e.actor} `, h("span", { class: "muted" }, JSON.stringify(e.detail)), h("br"), `“${e.note}”`))));
}
export { case_ as case };

/** A file of an export (zip or report), fetched with the key and offered as a download link. */
async function downloadLink(path, name, text, id) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${key()}` } });
  if (!resp.ok) throw new Error(`download failed: HTTP ${resp.status}`);
  return h("a", { href: URL.createObjectURL(await resp.blob()), download: name, id }, text);
}

/** The case's evidence packages (investigators and the officers it is shared with): each with its
 * zip and its case report (PDF), fetched on request. */
async function casePackages(c) {
  const data = await api(`/cases/${enc(c.case_id)}/exports`);
  const row = (x) => {
    const links = h("span", {});
    const get = async (what) => {
      try {
        const link = what === "zip"
          ? await downloadLink(`/exports/${enc(x.export_id)}/package`, `evidence-${x.export_id}.zip`, `evidence-${x.export_id}.zip`)
          : await downloadLink(`/exports/${enc(x.export_id)}/report`, `case-report-${x.export_id}.pdf`, `case-report-${x.export_id}.pdf`);
        links.append(" ", link); link.click();
      } catch (e) { links.append(h("span", { class: "error" }, ` ${e.message}`)); }
    };
    const hasPdf = x.report && x.report.pdf;
    return h("li", { "data-export": x.export_id }, `${x.exported_at} by ${x.exported_by} · signed by key ${x.signer.key_id} `,
      h("button", { type: "button", class: "secondary", onclick: () => get("zip") }, "Package (zip)"), " ",
      hasPdf ? h("button", { type: "button", class: "secondary report-pdf", onclick: () => get("pdf") }, "Case report (PDF)")
             : h("span", { class: "muted" }, x.report ? `(no PDF: ${x.report.pdf_missing})` : ""), links);
  };
  return h("section", { "aria-label": "Evidence packages", id: "case-packages" }, h("h2", {}, "Evidence packages"),
    data.items.length ? h("ul", {}, data.items.map(row)) : h("p", { class: "muted" }, "No evidence package of this case yet."));
}

/** "Export evidence": the server writes and signs a package of this case's items, then offers the zip. */
function exportPanel(c) {
  const out = h("p", { id: "export-result", role: "status" });
  const err = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "button", id: "export-evidence" }, "Export evidence");
  button.addEventListener("click", async () => {
    err.textContent = ""; out.replaceChildren("Writing and signing the package…"); button.disabled = true;
    try {
      const x = await api(`/cases/${enc(c.case_id)}/exports`, { method: "POST", body: {} });
      const link = await downloadLink(`/exports/${enc(x.export_id)}/package`, `evidence-${x.export_id}.zip`,
        `Download evidence-${x.export_id}.zip`, "export-download");
      const report = x.report && x.report.pdf ? await downloadLink(`/exports/${enc(x.export_id)}/report`,
        `case-report-${x.export_id}.pdf`, "Download the case report (PDF)", "report-download") : null;
      out.replaceChildren(link, " · ", report || h("span", { class: "muted" }, "no PDF report"), h("span", { class: "muted" },
        ` ${x.counts.nodes} nodes, ${x.counts.edges} edges, ${x.counts.pathways} pathways${x.truncated ? " (truncated by limits)" : ""}; signed by key ${x.signer.key_id}. Verify with \`crumbgraph verify\`.`));
    } catch (e) { out.replaceChildren(); err.textContent = e.message; } finally { button.disabled = false; }
  });
  return h("section", { "aria-label": "Evidence package" }, h("h2", {}, "Evidence package"),
    h("p", { class: "muted" }, "A signed package of this case's items (subgraph, GraphML, CSV, CASE/UCO, the case report for law enforcement as PDF, manifest)."), button, err, out);
}

function caseActions(c, reload) {
  const err = h("p", { class: "error", role: "alert" });
  const act = (label, fields, body) => {
    const note = h("textarea", { required: true, rows: 2, cols: 40, "aria-label": `Note for ${label}` });
    const form = h("form", { class: "card", "aria-label": label }, fields, h("label", {}, "Note (required)", note), h("button", { type: "submit" }, label));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!note.value.trim()) { err.textContent = "A note is required."; return; }
      try { await body(note.value.trim()); await reload(); } catch (e) { err.textContent = e.message; }
    });
    return form;
  };
  const next = NEXT[c.status] || [];
  const to = h("select", { id: "case-to" }, next.map((s) => h("option", { value: s }, s.replace("_", " "))));
  const who = h("input", { id: "case-assign", placeholder: "investigator name" });
  const le = h("input", { id: "case-share", placeholder: "law-enforcement user" });
  return h("section", { "aria-label": "Case actions" }, h("h2", {}, "Work the case"), err,
    h("div", { class: "grid2" },
      next.length ? act("Change status", h("label", {}, "New status", to), (note) => api(`/cases/${enc(c.case_id)}`, { method: "PATCH", body: { status: to.value, note } }))
                  : h("p", { class: "muted" }, "Closed: no further status changes."),
      act("Assign", h("label", {}, "Assignee", who), (note) => api(`/cases/${enc(c.case_id)}`, { method: "PATCH", body: { assignee: who.value.trim(), note } })),
      act("Share", h("label", {}, "Share with", le), (note) => api(`/cases/${enc(c.case_id)}/shares`, { method: "POST", body: { user_name: le.value.trim(), note } })),
      act("Add note", null, (note) => api(`/cases/${enc(c.case_id)}/notes`, { method: "POST", body: { note } }))));
}

// -- auditor and admin -----------------------------------------------------------------
export async function audit(main, { params }) {
  const after = Number(params.after || 0);
  const page = await api("/audit", { params: { after, limit: 200 } });
  const verify = h("p", { "aria-live": "polite" });
  show(main, h("h1", {}, "Audit log"),
    h("div", { class: "toolbar" }, h("button", { type: "button", onclick: async () => {
      const v = await api("/audit/verify"); verify.textContent = v.message; verify.className = v.ok ? "" : "error"; } }, "Verify the hash chain"),
      page.next_after ? h("a", { href: `#/audit?after=${page.next_after}` }, "Next 200 entries") : null), verify,
    h("p", { class: "muted" }, `Entries after #${after}, oldest first; account ids pseudonymised.`),
    sortableTable([["seq", "#", null, true], ["at", "At"], ["user_name", "User"], ["role", "Role"], ["method", "Method"], ["route", "Route"],
                   ["status", "Status", null, true], ["result_count", "Results", null, true]], page.items).el);
}

export async function users(main) {
  const data = await api("/users");
  show(main, h("h1", {}, "Users"), sortableTable([["name", "Name"], ["role", "Role"], ["key_id", "Key id"], ["created_at", "Created"],
    ["revoked_at", "Revoked"]], data.items).el, h("p", { class: "muted" }, "Add and revoke users with `crumbgraph users add|revoke` or the /users API."));
}
