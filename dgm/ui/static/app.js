// dgm ui: live sections and the archive tree. No inline script anywhere (the page's CSP
// forbids it); every text from the archive is set with textContent, never as markup,
// except the server-escaped HTML sections the live poll swaps in.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const POLL_MS = 2000;

function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

function fmt(x) { return x === null || x === undefined ? "-" : Number(x).toFixed(3); }

// Viridis, five stops: 0 -> dark purple, 1 -> yellow. A node's value is its `c`: a suite
// run's score, a problem run's rank in the run (the server's treedata.py says why).
const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function colour(value) {
  if (value === null || value === undefined) return "#bbbbbb";
  const t = Math.max(0, Math.min(1, value)) * (STOPS.length - 1);
  const i = Math.min(Math.floor(t), STOPS.length - 2), f = t - i;
  const c = STOPS[i].map((a, k) => Math.round(a + (STOPS[i + 1][k] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// ---- live sections -----------------------------------------------------------------------

function startLive() {
  const url = document.body.dataset.live;
  if (!url) return;
  let version = null;
  async function poll() {
    try {
      const r = await fetch(url + (url.includes("?") ? "&" : "?") + "v=" + encodeURIComponent(version || ""),
                            { credentials: "same-origin" });
      if (r.ok) {
        const doc = await r.json();
        if (doc.sections && version !== null) {
          for (const [name, markup] of Object.entries(doc.sections)) {
            const box = document.querySelector(`.live[data-section="${name}"]`);
            if (box) box.innerHTML = markup;  // escaped by the server; CSP blocks any script
          }
          if (window.dgmTree) window.dgmTree.refresh();
          document.body.dataset.updated = String(Date.now());
        }
        version = doc.v;
      }
    } catch (e) { /* the server may be restarting: try again later */ }
    setTimeout(poll, POLL_MS);
  }
  poll();
}

// ---- the tree ------------------------------------------------------------------------------

class Tree {
  constructor(box) {
    this.box = box;
    this.src = box.dataset.src;
    this.nodes = new Map();      // id -> node json (+ kids: [ids])
    this.expanded = new Set();   // ids whose children were fetched by the user
    this.collapsed = new Set();  // ids whose shown children the user folded
    this.view = { x: 20, y: 20, k: 1 };
    this.fitted = false;
    this.svg = el("svg", { class: "tree", width: "100%", height: "560" }, box);
    this.g = el("g", {}, this.svg);
    this.status = document.createElement("p");
    this.status.className = "dim tree-status";
    box.appendChild(this.status);
    this.panZoom();
    this.refresh();
  }

  async fetchJson(url) {
    const r = await fetch(url, { credentials: "same-origin" });
    if (!r.ok) throw new Error(`${r.status}`);
    return r.json();
  }

  async refresh() {
    try {
      const doc = await this.fetchJson(this.src);
      this.meta = doc;
      this.nodes = new Map();
      for (const n of doc.nodes) this.add(n);
      for (const id of this.expanded) {
        if (this.nodes.has(id)) this.merge(await this.fetchJson(this.src + "?node=" + encodeURIComponent(id)));
      }
      this.render();
    } catch (e) {
      this.status.textContent = "could not load the tree: " + e.message;
    }
  }

  add(n) {
    if (this.nodes.has(n.id)) return;
    n.kids = [];
    this.nodes.set(n.id, n);
    const p = n.p !== null ? this.nodes.get(n.p) : undefined;
    if (p) p.kids.push(n.id);
  }

  merge(doc) {
    const parent = this.nodes.get(doc.node);
    if (!parent) return;
    for (const n of doc.nodes) this.add(n);
    let shownBelow = 0;
    const count = (id) => { const n = this.nodes.get(id); shownBelow += 1; n.kids.forEach(count); };
    parent.kids.forEach(count);
    parent.h = Math.max(0, parent.n - 1 - shownBelow);
    parent.hb = doc.more ? doc.more_best : null;
  }

  async toggle(id) {
    const n = this.nodes.get(id);
    if (this.collapsed.has(id)) { this.collapsed.delete(id); this.render(); return; }
    if (n.h > 0 && !this.expanded.has(id)) {
      this.expanded.add(id);
      this.merge(await this.fetchJson(this.src + "?node=" + encodeURIComponent(id)));
    } else if (n.kids.length) {
      this.collapsed.add(id);
    }
    this.render();
  }

  layout() {
    const pos = new Map();
    let nextX = 0;
    const roots = [...this.nodes.values()].filter((n) => n.p === null || !this.nodes.has(n.p));
    for (const root of roots) {
      const stack = [[root, 0, false]];
      while (stack.length) {
        const [n, depth, done] = stack.pop();
        const kids = this.collapsed.has(n.id) ? [] : n.kids.map((id) => this.nodes.get(id));
        const d = depth + (n.gap ? 1 : 0);
        if (!kids.length) { pos.set(n.id, [nextX++, d]); continue; }
        if (done) {
          const xs = kids.map((k) => pos.get(k.id)[0]);
          pos.set(n.id, [(Math.min(...xs) + Math.max(...xs)) / 2, d]);
          continue;
        }
        stack.push([n, depth, true]);
        for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], d + 1, false]);
      }
      nextX += 0.5;
    }
    return pos;
  }

  render() {
    const DX = 34, DY = 70;
    const pos = this.layout();
    this.g.replaceChildren();
    const edges = el("g", { class: "edges" }, this.g);
    const layer = el("g", { class: "nodes" }, this.g);
    const xy = (id) => { const [x, y] = pos.get(id); return [x * DX, y * DY]; };
    for (const n of this.nodes.values()) {
      if (!pos.has(n.id)) continue;
      const [x, y] = xy(n.id);
      if (n.p !== null && pos.has(n.p)) {
        const [px, py] = xy(n.p);
        const cls = "edge" + (n.b && this.nodes.get(n.p).b ? " best" : "") + (n.gap ? " gap" : "");
        el("path", { class: cls, d: `M${px},${py} C${px},${(py + y) / 2} ${x},${(py + y) / 2} ${x},${y}` }, edges);
        if (n.gap) {
          const t = el("text", { class: "gap-label", x: x + 8, y: y - DY / 2 }, edges);
          t.textContent = `⋮ ${n.gap} generations (${n.gap_n} agents, best ${fmt(n.gap_b)})`;
        }
      }
      // Crossover: the second parent, when both are on screen.
      if (n.p2 && pos.has(n.p2)) {
        const [qx, qy] = xy(n.p2);
        el("path", { class: "edge cross", d: `M${qx},${qy} L${x},${y}` }, edges);
      }
      this.drawNode(layer, n, x, y);
    }
    const hidden = this.meta && this.meta.hidden ? ` ${this.meta.hidden} agents in other root subtrees not shown.` : "";
    this.status.textContent = `${pos.size} of ${this.meta ? this.meta.total : "?"} agents shown.${hidden}`;
    if (!this.fitted && pos.size) this.fit();
    this.apply();
  }

  drawNode(layer, n, x, y) {
    const a = el("a", { class: "node" + (n.b ? " best" : ""), href: "/agents/" + encodeURIComponent(n.id) }, layer);
    a.dataset.id = n.id;
    const c = el("circle", { cx: x, cy: y, r: n.b ? 9 : 7, fill: colour(n.c) }, a);
    if (this.meta && n.id === this.meta.best) c.setAttribute("class", "star");
    const title = el("title", {}, a);
    // A problem's raw score says which way is better: 6.250 is good when lower wins.
    const dir = this.meta && this.meta.direction ? ` (${this.meta.direction})` : "";
    title.textContent = `${n.id}\nscore${dir} ${fmt(n.s)} (${n.st}), generation ${n.g}\nsubtree: ${n.n} agents, best ${fmt(n.sb)}`;
    const label = el("text", { class: "label", x: x, y: y + 20, "text-anchor": "middle" }, a);
    label.textContent = fmt(n.s);
    const foldable = n.h > 0 || n.kids.length > 0;
    if (foldable) {
      const t = el("g", { class: "toggle" }, layer);
      t.dataset.id = n.id;
      el("circle", { cx: x + 11, cy: y - 9, r: 6 }, t);
      const sign = el("text", { x: x + 11, y: y - 5.5, "text-anchor": "middle" }, t);
      const open = n.kids.length > 0 && !this.collapsed.has(n.id) && !(n.h > 0 && !this.expanded.has(n.id) && n.kids.length === 0);
      sign.textContent = n.h > 0 && !this.expanded.has(n.id) ? "+" : (open ? "−" : "+");
      t.addEventListener("click", (ev) => { ev.preventDefault(); ev.stopPropagation(); this.toggle(n.id); });
    }
    const hiddenHere = this.collapsed.has(n.id) ? n.n - 1 : n.h;
    if (hiddenHere > 0) {
      const more = el("text", { class: "more", x: x + 12, y: y + 4, "text-anchor": "start" }, layer);
      more.textContent = `+${hiddenHere}` + (n.hb !== null && n.hb !== undefined && !this.collapsed.has(n.id) ? ` (best ${fmt(n.hb)})` : "");
    }
  }

  fit() {
    const box = this.g.getBBox();
    const w = this.svg.clientWidth || 800, h = this.svg.clientHeight || 560;
    const k = Math.min(1, Math.max(0.05, Math.min((w - 40) / Math.max(box.width, 1), (h - 40) / Math.max(box.height, 1))));
    this.view = { k, x: 20 - box.x * k + Math.max(0, (w - 40 - box.width * k) / 2), y: 20 - box.y * k };
    this.fitted = true;
  }

  apply() { this.g.setAttribute("transform", `translate(${this.view.x},${this.view.y}) scale(${this.view.k})`); }

  panZoom() {
    let drag = null, moved = false;
    this.svg.addEventListener("mousedown", (e) => { drag = [e.clientX, e.clientY, this.view.x, this.view.y]; moved = false; });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag[0], dy = e.clientY - drag[1];
      if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
      this.view.x = drag[2] + dx; this.view.y = drag[3] + dy;
      this.apply();
    });
    window.addEventListener("mouseup", () => { drag = null; });
    // A drag that ends on a node must not open it.
    this.svg.addEventListener("click", (e) => { if (moved) { e.preventDefault(); e.stopPropagation(); moved = false; } }, true);
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      const mx = e.clientX - r.left, my = e.clientY - r.top;
      const f = Math.exp(-e.deltaY * 0.0015);
      const k = Math.max(0.02, Math.min(8, this.view.k * f));
      this.view.x = mx - (mx - this.view.x) * (k / this.view.k);
      this.view.y = my - (my - this.view.y) * (k / this.view.k);
      this.view.k = k;
      this.apply();
    }, { passive: false });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("tree");
  if (box) window.dgmTree = new Tree(box);
  startLive();
});
