// Drawings as SVG, laid out here (no library): pathways as left-to-right layers, neighbourhoods
// with a force layout, both deterministic (same data, same picture). Nodes and edges carry data-*
// attributes naming what they are, so what is drawn can be checked against the API.
const NS = "http://www.w3.org/2000/svg";

export function el(name, attrs = {}, ...children) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

const short = (s, n = 18) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
export const nodeKey = (n) => `${n.kind}:${n.id}`;

/** One shape per kind: accounts round, content square, urls a diamond, hashtags a pill. */
function shape(kind, x, y) {
  if (kind === "account") return el("circle", { cx: x, cy: y, r: 14 });
  if (kind === "url") return el("polygon", { points: `${x},${y - 15} ${x + 15},${y} ${x},${y + 15} ${x - 15},${y}` });
  if (kind === "hashtag") return el("rect", { x: x - 16, y: y - 10, width: 32, height: 20, rx: 10 });
  return el("rect", { x: x - 13, y: y - 13, width: 26, height: 26, rx: 3 });
}

function drawNode(n, x, y, labels, href) {
  const g = el("g", { class: ["node", `kind-${n.kind}`, ...labels].join(" "), "data-id": n.id, "data-kind": n.kind,
                      "data-labels": labels.join(" "), transform: `translate(${x},${y})` });
  g.append(shape(n.kind, 0, 0));
  g.append(el("text", { y: 28, "text-anchor": "middle" }, short(n.id)));
  const sub = n.content_kind || (labels.length ? labels[0].replace("_", " ") : "");
  if (sub) g.append(el("text", { y: 40, "text-anchor": "middle", class: "sub" }, sub));
  g.append(el("title", {}, `${n.kind} ${n.id}${labels.length ? " — " + labels.join(", ") : ""}`));
  if (!href) return g;
  const a = el("a", { href, "aria-label": `${n.kind} ${n.id}${labels.length ? ", " + labels.join(", ") : ""}` });
  a.append(g);
  return a;
}

function arrowDefs() {
  const m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7,
                           orient: "auto-start-reverse" }, el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#333" }));
  return el("defs", {}, m);
}

/** The labels a node gets from what the run says (context built by the pathway/account views). */
export function labelsOf(n, ctx) {
  const out = [];
  if (ctx.child && ctx.child.has(nodeKey(n))) out.push("child_oriented");
  if (n.kind === "content" && ctx.clusterContent && ctx.clusterContent.has(n.id)) out.push("abusive");
  if (n.kind === "account" && ctx.bridges && ctx.bridges.has(n.id)) out.push("bridge");
  if (n.kind === "account" && ctx.clusterAccounts && ctx.clusterAccounts.has(n.id)) out.push("cluster_member");
  if (n.kind === "account" && ctx.crumb && ctx.crumb.has(n.id) && !out.includes("bridge")) out.push("crumb");
  return out;
}

/** The hops of a pathway: [{src, dst, type, dir, at, by}] (at/by when the run recorded them). */
export function hopsOf(p) {
  return p.edges.map((type, i) => ({
    src: p.nodes[i], dst: p.nodes[i + 1], type,
    dir: (p.directions || [])[i] || "forward", at: (p.created_at || [])[i] || null, by: (p.created_by || [])[i] || null,
  }));
}

/** One pathway as a line of text (the drawing's text alternative). */
export function pathwayText(p) {
  const name = (n) => `${n.kind} ${n.id}${n.content_kind ? " (" + n.content_kind + ")" : ""}`;
  let s = name(p.nodes[0]);
  for (const h of hopsOf(p)) {
    const meta = [h.at, h.by && `by ${h.by}`].filter(Boolean).join(", ");
    const t = `${h.type}${meta ? " [" + meta + "]" : ""}`;
    s += h.dir === "backward" ? ` <-${t}- ` : ` -${t}-> `;
    s += name(h.dst);
  }
  return s;
}

/** Several pathways (one source) merged into one layered left-to-right drawing. A node's layer is
 *  its earliest position on any of them; within a layer, nodes follow their predecessors. */
export function drawPathways(pathways, selectedId, ctx) {
  const nodes = new Map(), layerOf = new Map(), order = [];
  for (const p of pathways) p.nodes.forEach((n, i) => {
    const k = nodeKey(n);
    if (!nodes.has(k)) { nodes.set(k, n); order.push(k); layerOf.set(k, i); }
    else layerOf.set(k, Math.min(layerOf.get(k), i));
  });
  const edges = new Map();
  for (const p of pathways) for (const h of hopsOf(p)) {
    const k = `${nodeKey(h.src)}|${nodeKey(h.dst)}|${h.type}`;
    if (!edges.has(k)) edges.set(k, { ...h, pathways: [] });
    const e = edges.get(k);
    e.pathways.push(p.pathway_id);
    if (p.pathway_id === selectedId) Object.assign(e, { at: h.at, by: h.by, dir: h.dir });
  }
  const layers = [];
  for (const k of order) (layers[layerOf.get(k)] ||= []).push(k);
  const pos = new Map(), XS = 200, YS = 92, X0 = 70, Y0 = 50;
  layers.forEach((keys, li) => {
    if (li > 0) {  // barycentre of predecessors, stable for ties
      const bary = (k) => { const ys = [...edges.values()].filter((e) => nodeKey(e.dst) === k && pos.has(nodeKey(e.src)))
                                        .map((e) => pos.get(nodeKey(e.src))[1]);
                            return ys.length ? ys.reduce((a, b) => a + b) / ys.length : 0; };
      const b = new Map(keys.map((k) => [k, bary(k)]));
      keys.sort((a, c) => b.get(a) - b.get(c));
    }
    keys.forEach((k, i) => pos.set(k, [X0 + li * XS, Y0 + i * YS]));
  });
  const width = X0 * 2 + Math.max(0, layers.length - 1) * XS, height = Y0 + Math.max(...layers.map((l) => l.length)) * YS;
  const selected = pathways.find((p) => p.pathway_id === selectedId);
  const onPath = new Set(selected ? selected.nodes.map(nodeKey) : []);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", width, height,
                          "aria-label": `Pathway drawing: ${nodes.size} nodes, ${edges.size} edges` }, arrowDefs());
  for (const e of edges.values()) {
    const [x1, y1] = pos.get(nodeKey(e.src)), [x2, y2] = pos.get(nodeKey(e.dst));
    const sel = selected && e.pathways.includes(selectedId);
    const crumb = e.by && ctx.crumb && ctx.crumb.has(e.by);
    const cls = ["edge", sel ? "selected" : "", crumb ? "crumb" : ""].filter(Boolean).join(" ");
    const g = el("g", { class: cls, "data-src": nodeKey(e.src), "data-dst": nodeKey(e.dst), "data-type": e.type,
                        "data-pathways": e.pathways.join(" ") });
    const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1, r = 18;
    const a = [x1 + (dx / len) * r, y1 + (dy / len) * r], b = [x2 - (dx / len) * r, y2 - (dy / len) * r];
    const bend = x2 <= x1 ? 60 : 0;  // same or earlier layer: an arc, not a line through nodes
    const path = `M${a[0]},${a[1]} Q${(a[0] + b[0]) / 2},${(a[1] + b[1]) / 2 - bend} ${b[0]},${b[1]}`;
    g.append(el("path", { d: path, ...(e.dir === "backward" ? { "marker-start": "url(#arrow)" } : { "marker-end": "url(#arrow)" }) }));
    const mx = (x1 + x2) / 2, my = (y1 + y2) / 2 - bend / 2 - 6;
    g.append(el("text", { x: mx, y: my, "text-anchor": "middle" }, e.type));
    if (sel && e.at) g.append(el("text", { x: mx, y: my + 22, "text-anchor": "middle", class: "when" }, e.at.slice(0, 16).replace("T", " ")));
    if (sel && crumb) g.append(el("text", { x: mx, y: my + 33, "text-anchor": "middle", class: "by" }, `laid by ${short(e.by, 14)}`));
    g.append(el("title", {}, `${e.type}${e.dir === "backward" ? " (walked against the edge)" : ""}${e.at ? " at " + e.at : ""}`
                             + `${e.by ? " by " + e.by : ""} — pathways ${e.pathways.join(", ")}`));
    svg.append(g);
  }
  for (const [k, n] of nodes) {
    const [x, y] = pos.get(k);
    const labels = labelsOf(n, ctx);
    if (onPath.has(k)) labels.push("on-path");
    svg.append(drawNode(n, x, y, labels, n.kind === "account" ? `#/account/${encodeURIComponent(n.id)}` : null));
  }
  return svg;
}

/** Fruchterman-Reingold from a circle start: deterministic, fine for the few hundred nodes the API returns. */
export function forceLayout(n, links, iterations = 300, size = 1000) {
  const p = Array.from({ length: n }, (_, i) => [size / 2 + (size / 3) * Math.cos((2 * Math.PI * i) / n),
                                                  size / 2 + (size / 3) * Math.sin((2 * Math.PI * i) / n)]);
  if (n < 2) return p.map(() => [size / 2, size / 2]);
  const k = Math.sqrt((size * size) / n) * 0.6;
  let t = size / 10;
  for (let it = 0; it < iterations; it++) {
    const d = p.map(() => [0, 0]);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      let dx = p[i][0] - p[j][0], dy = p[i][1] - p[j][1], dist = Math.hypot(dx, dy) || 0.01;
      const f = (k * k) / dist; dx = (dx / dist) * f; dy = (dy / dist) * f;
      d[i][0] += dx; d[i][1] += dy; d[j][0] -= dx; d[j][1] -= dy;
    }
    for (const [i, j] of links) {
      let dx = p[i][0] - p[j][0], dy = p[i][1] - p[j][1], dist = Math.hypot(dx, dy) || 0.01;
      const f = (dist * dist) / k; dx = (dx / dist) * f; dy = (dy / dist) * f;
      d[i][0] -= dx; d[i][1] -= dy; d[j][0] += dx; d[j][1] += dy;
    }
    for (let i = 0; i < n; i++) {
      const len = Math.hypot(d[i][0], d[i][1]) || 1, step = Math.min(len, t);
      p[i][0] += (d[i][0] / len) * step; p[i][1] += (d[i][1] / len) * step;
    }
    t *= 0.985;
  }
  return p;
}

/** A neighbourhood (nodes + edges from the API) drawn with the force layout, in a pan/zoom frame. */
export function drawNeighbourhood(hood, ctx) {
  const idx = new Map(hood.nodes.map((n, i) => [nodeKey(n), i]));
  const links = [];
  for (const e of hood.edges) {
    const a = idx.get(`${e.src_kind}:${e.src_id}`), b = idx.get(`${e.dst_kind}:${e.dst_id}`);
    if (a !== undefined && b !== undefined && a !== b) links.push([a, b]);
  }
  const p = forceLayout(hood.nodes.length, links);
  const xs = p.map((q) => q[0]), ys = p.map((q) => q[1]);
  const minX = Math.min(...xs) - 60, minY = Math.min(...ys) - 40, w = Math.max(...xs) - minX + 60, h = Math.max(...ys) - minY + 60;
  const svg = el("svg", { viewBox: `${minX} ${minY} ${w} ${h}`, role: "img", tabindex: 0,
                          "aria-label": `Neighbourhood of ${hood.account_id}: ${hood.nodes.length} nodes, ${hood.edges.length} edges. `
                                        + "Arrow keys pan, plus and minus zoom." }, arrowDefs());
  const scene = el("g", { class: "scene" });
  svg.append(scene);
  for (const e of hood.edges) {
    const a = idx.get(`${e.src_kind}:${e.src_id}`), b = idx.get(`${e.dst_kind}:${e.dst_id}`);
    if (a === undefined || b === undefined) continue;
    const [x1, y1] = p[a], [x2, y2] = p[b], dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
    scene.append(el("g", { class: "edge", "data-src": `${e.src_kind}:${e.src_id}`, "data-dst": `${e.dst_kind}:${e.dst_id}`,
                           "data-type": e.type },
      el("line", { x1, y1, x2: x2 - (dx / len) * 17, y2: y2 - (dy / len) * 17, "marker-end": "url(#arrow)" }),
      el("title", {}, `${e.type}: ${e.src_id} → ${e.dst_id}`)));
  }
  hood.nodes.forEach((n, i) => {
    const labels = labelsOf(n, ctx);
    if (n.kind === "account" && n.id === hood.account_id) labels.push("center");
    scene.append(drawNode(n, p[i][0], p[i][1], labels,
                          n.kind === "account" && n.id !== hood.account_id ? `#/account/${encodeURIComponent(n.id)}` : null));
  });
  return zoomable(svg, [minX, minY, w, h]);
}

/** Pan (drag, arrow keys) and zoom (wheel, +/-, buttons) by changing the viewBox. */
export function zoomable(svg, box0) {
  let box = [...box0];
  const set = () => svg.setAttribute("viewBox", box.join(" "));
  const zoom = (f, cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2) => {
    box = [cx - (cx - box[0]) * f, cy - (cy - box[1]) * f, box[2] * f, box[3] * f]; set();
  };
  const pan = (fx, fy) => { box[0] += box[2] * fx; box[1] += box[3] * fy; set(); };
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, box[0] + ((ev.clientX - r.left) / r.width) * box[2],
         box[1] + ((ev.clientY - r.top) / r.height) * box[3]);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => { if (ev.target.closest("a")) return; drag = [ev.clientX, ev.clientY]; svg.setPointerCapture(ev.pointerId); });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    pan(-(ev.clientX - drag[0]) / r.width, -(ev.clientY - drag[1]) / r.height); drag = [ev.clientX, ev.clientY];
  });
  svg.addEventListener("pointerup", () => { drag = null; });
  svg.addEventListener("keydown", (ev) => {
    const acts = { ArrowLeft: () => pan(-0.1, 0), ArrowRight: () => pan(0.1, 0), ArrowUp: () => pan(0, -0.1),
                   ArrowDown: () => pan(0, 0.1), "+": () => zoom(1 / 1.25), "=": () => zoom(1 / 1.25), "-": () => zoom(1.25),
                   "0": () => { box = [...box0]; set(); } };
    if (acts[ev.key]) { ev.preventDefault(); acts[ev.key](); }
  });
  const btn = (text, label, fn) => { const b = document.createElement("button"); b.type = "button"; b.className = "secondary";
                                     b.textContent = text; b.setAttribute("aria-label", label); b.onclick = fn; return b; };
  const bar = document.createElement("div");
  bar.className = "zoombar";
  bar.append(btn("+", "Zoom in", () => zoom(1 / 1.25)), btn("−", "Zoom out", () => zoom(1.25)),
             btn("Reset", "Reset view", () => { box = [...box0]; set(); }));
  const wrap = document.createElement("div");
  wrap.className = "drawing zoomable";
  wrap.append(bar, svg);
  return wrap;
}
