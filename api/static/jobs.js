// The Jobs view: every ingest, detector and publish job of the server, who started it, its state and
// progress; refreshed every second while the view is open (GET /jobs, role-checked by the API).
import { api } from "./api.js";
import { h } from "./views.js";

const enc = encodeURIComponent;
const STATES = ["", "queued", "running", "succeeded", "failed"];
const KINDS = { run: "detector run", ingest: "ingest", publish: "publish to Neo4j" };

function progressCell(j) {
  const p = j.progress;
  if (j.status === "succeeded") return h("span", {}, "done");
  if (!p) return h("span", { class: "muted" }, j.status === "queued" ? "waiting" : "starting");
  const pct = Math.round((p.fraction || 0) * 100);
  return h("span", { class: "job-progress" },
    h("progress", { max: 100, value: pct, "aria-label": `${j.job_id} ${pct}%` }), ` ${p.stage} ${pct}%`);
}

function jobRow(j) {
  return h("tr", { "data-job": j.job_id, class: `job ${j.status}` },
    h("td", {}, j.job_id), h("td", {}, KINDS[j.kind] || j.kind),
    h("td", { class: "job-by" }, j.submitted_by), h("td", {}, j.submitted_at),
    h("td", { class: "job-status" }, j.status), h("td", {}, progressCell(j)),
    h("td", {}, j.run_id ? h("a", { href: `#/run/${enc(j.run_id)}` }, j.run_id) : ""),
    h("td", { class: "error" }, j.error || ""));
}

export async function jobs(main, { params }) {
  const sel = h("select", { id: "job-status" }, STATES.map((s) =>
    h("option", { value: s, selected: s === (params.status || "") }, s || "any state")));
  sel.addEventListener("change", () => { location.hash = `#/jobs${sel.value ? "?status=" + sel.value : ""}`; });
  const summary = h("p", { id: "jobs-summary", "aria-live": "polite" });
  const tbody = h("tbody");
  const table = h("table", { id: "jobs-table" }, h("thead", {}, h("tr", {},
    ["Job", "Kind", "Started by", "Submitted", "State", "Progress", "Run", "Error"].map((x) => h("th", { scope: "col" }, x)))), tbody);
  main.replaceChildren(h("h1", {}, "Jobs"),
    h("p", { class: "muted" }, "Ingest and detector jobs of this server (everyone who works with runs sees them), newest first. Updated every second."),
    h("div", { class: "toolbar" }, h("label", {}, "State", sel)), summary, table);
  const refresh = async () => {
    if (!main.isConnected) return;  // the view was left: stop polling
    const data = await api("/jobs", { params: { status: params.status, limit: 200 } });
    tbody.replaceChildren(...data.items.map(jobRow));
    summary.textContent = `${data.items.length} jobs shown · ${data.running} queued or running`;
    setTimeout(() => refresh().catch(() => {}), 1000);
  };
  await refresh();
}
