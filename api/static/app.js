// The console's shell: sign-in, navigation by role, and the #/route -> view dispatch.
import { api, key, signIn, signOut } from "./api.js";
import * as V from "./views.js";
import { h } from "./views.js";
import { jobs } from "./jobs.js";

const VIEWS = { ...V, jobs };

/** What each role's navigation shows (the API enforces the same; this only hides what would be refused). */
const NAV = {
  investigator: [["#/runs", "Runs"], ["#/flagged", "Flagged accounts"], ["#/clusters", "Clusters"], ["#/cases", "Cases"], ["#/jobs", "Jobs"]],
  law_enforcement: [["#/cases", "Shared cases"]],
  auditor: [["#/runs", "Runs"], ["#/audit", "Audit log"], ["#/jobs", "Jobs"]],
  admin: [["#/users", "Users"], ["#/jobs", "Jobs"]],
};
const ROUTES = {
  runs: ["investigator", "auditor"], run: ["investigator", "auditor"], flagged: ["investigator"], clusters: ["investigator"],
  cluster: ["investigator"], pathway: ["investigator"], account: ["investigator"], cases: ["investigator", "law_enforcement"],
  case: ["investigator", "law_enforcement"], audit: ["auditor"], users: ["admin"],
  jobs: ["investigator", "auditor", "admin"],
};

let me = null;

function renderNav() {
  const nav = document.getElementById("nav"), who = document.getElementById("who"), out = document.getElementById("signout");
  nav.replaceChildren(...(me ? NAV[me.role] || [] : []).map(([href, text]) => h("a", { href }, text)));
  who.textContent = me ? `${me.name} · ${me.role.replace("_", " ")}` : "";
  out.hidden = !me;
  const here = location.hash.split("?")[0].split("/")[1];
  for (const a of nav.querySelectorAll("a")) if (a.getAttribute("href").split("/")[1] === here) a.setAttribute("aria-current", "page");
}

function signinView(main, message) {
  const input = h("input", { type: "password", id: "apikey", autocomplete: "off", required: true, size: 60,
                             "aria-describedby": "keyhelp" });
  const err = h("p", { class: "error", role: "alert" }, message || "");
  const form = h("form", { class: "card" },
    h("h1", {}, "Sign in"),
    h("p", { id: "keyhelp", class: "muted" }, "Paste your API key (from `crumbgraph users add`). It is kept in this browser tab only and forgotten when you sign out or close the tab."),
    h("label", { for: "apikey" }, "API key", input), " ", h("button", { type: "submit" }, "Sign in"), err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { me = await signIn(input.value.trim()); location.hash = "#/" + (NAV[me.role][0][0].slice(2)); route(); }
    catch (e) { err.textContent = `Sign-in failed: ${e.message}`; }
  });
  main.replaceChildren(form);
  input.focus();
}

async function route() {
  const main = document.getElementById("main");
  if (!key()) { me = null; renderNav(); return signinView(main); }
  if (!me) {
    try { me = await api("/me"); } catch (e) { me = null; renderNav(); return signinView(main, e.message); }
  }
  const [path, query] = location.hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  let name = parts[0];
  if (!name || name === "signin" || !ROUTES[name]) { location.hash = (NAV[me.role] || [["#/cases"]])[0][0]; return; }
  renderNav();
  if (!ROUTES[name].includes(me.role)) { main.replaceChildren(h("p", { class: "error" }, "Your role may not see this.")); return; }
  // each visit renders into its own container: a slower, earlier view finishing late writes into a
  // detached element instead of over the current one
  const view = h("div", { class: "view" }, h("p", { class: "muted" }, "Loading…"));
  main.replaceChildren(view);
  document.getElementById("status").textContent = "";
  try { await VIEWS[name](view, { me, id: parts[1], params }); }
  catch (e) { view.replaceChildren(h("h1", {}, "Could not load"), h("p", { class: "error", role: "alert" }, e.message)); }
  if (view.isConnected) main.focus({ preventScroll: true });
}

document.getElementById("signout").addEventListener("click", () => { signOut(); me = null; location.hash = "#/signin"; route(); });
window.addEventListener("hashchange", route);
route();
