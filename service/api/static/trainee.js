// ashiwatch trainee pages: the list of trainees, and one trainee's scores over time (a small
// SVG chart and the table of sessions). Plain JS, no build step (docs/scoring.md); api.js
// (loaded first) gives the token, $ and api().
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text = null) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;      // never innerHTML: names and reasons are data
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const grade = (s) => (s >= 90 ? "good" : s >= 50 ? "fair" : "poor");
const when = (t) => new Date(t * 1000).toLocaleString();

function showLogin(message = "") {
  $("#login").hidden = false;
  $("#login-error").textContent = message;
}

// -- all trainees ---------------------------------------------------------------------------

async function showTrainees() {
  const list = await api("/trainees");
  $("#trainees").hidden = false;
  $("#trainees-empty").hidden = list.length > 0;
  const body = $("#trainee-table tbody");
  body.replaceChildren();
  for (const t of list) {
    const tr = el("tr");
    const a = el("a", { href: `trainee.html?name=${encodeURIComponent(t.name)}` }, t.name);
    const td = el("td");
    td.append(a);
    tr.append(td, el("td", {}, String(t.sessions)),
      el("td", { class: grade(t.latest) }, String(t.latest)),
      el("td", {}, String(t.best)), el("td", {}, when(t.last_created)));
    body.append(tr);
  }
}

// -- one trainee ----------------------------------------------------------------------------

function drawChart(scores) {
  const box = $("#progress");
  box.replaceChildren();
  const W = 640, H = 220, L = 36, R = 12, T = 12, B = 28;
  const x = (i) => L + (scores.length === 1 ? (W - L - R) / 2 : i * (W - L - R) / (scores.length - 1));
  const y = (s) => T + (100 - s) * (H - T - B) / 100;
  box.append(svg("line", { class: "axis", x1: L, y1: y(0), x2: W - R, y2: y(0) }));
  box.append(svg("line", { class: "axis", x1: L, y1: y(0), x2: L, y2: y(100) }));
  for (const v of [0, 50, 90, 100]) {
    if (v === 50 || v === 90) {
      box.append(svg("line", { class: "ref", x1: L, y1: y(v), x2: W - R, y2: y(v) }));
    }
    const lab = svg("text", { class: "label", x: L - 6, y: y(v) + 4, "text-anchor": "end" });
    lab.textContent = String(v);
    box.append(lab);
  }
  const pts = scores.map((s, i) => `${x(i).toFixed(1)},${y(s.score).toFixed(1)}`).join(" ");
  box.append(svg("polyline", { class: "line", points: pts }));
  scores.forEach((s, i) => {
    const c = svg("circle", { class: `point ${grade(s.score)}`, cx: x(i), cy: y(s.score), r: 5 });
    const tip = svg("title");
    tip.textContent = `#${i + 1} ${s.exercise}: ${s.score} (${when(s.created)})`;
    c.append(tip);
    box.append(c);
    const lab = svg("text", { class: "label", x: x(i), y: H - 8, "text-anchor": "middle" });
    lab.textContent = `#${i + 1}`;
    box.append(lab);
  });
}

function partsList(parts) {
  const ul = el("ul", { class: "parts" });
  for (const [name, p] of Object.entries(parts)) {
    ul.append(el("li", { class: p.points < p.max ? "lost" : "" }, `${name} ${p.points} / ${p.max}`));
  }
  return ul;
}

function reasonsList(reasons) {
  if (!reasons.length) return el("span", { class: "muted" }, "none");
  const ul = el("ul", { class: "reasons" });
  for (const r of reasons) ul.append(el("li", {}, r));
  return ul;
}

async function showTrainee(name) {
  $("#trainee").hidden = false;
  $("#trainee-name").textContent = name;
  document.title = `ashiwatch · ${name}`;
  const data = await api(`/trainees/${encodeURIComponent(name)}/scores`);
  const s = data.scores;
  const first = s[0].score, last = s[s.length - 1].score;
  $("#trainee-summary").textContent =
    `${s.length} session${s.length === 1 ? "" : "s"}; latest ${last}, best ` +
    `${Math.max(...s.map((x) => x.score))}` +
    (s.length > 1 ? `; ${last >= first ? "+" : ""}${(last - first).toFixed(1)} since the first` : "");
  drawChart(s);
  const body = $("#sessions tbody");
  body.replaceChildren();
  s.forEach((sc, i) => {
    const tr = el("tr", { "data-id": String(sc.id) });
    const score = el("td", { class: `score ${grade(sc.score)}` },
      sc.cap !== null && sc.cap !== undefined ? `${sc.score} (capped)` : String(sc.score));
    const parts = el("td"); parts.append(partsList(sc.parts));
    const reasons = el("td"); reasons.append(reasonsList(sc.reasons));
    tr.append(el("td", {}, String(i + 1)), el("td", {}, when(sc.created)),
      el("td", {}, sc.exercise), score, parts, reasons);
    body.append(tr);
  });
}

// -- start ----------------------------------------------------------------------------------

async function start() {
  $("#login").hidden = true;
  $("#error").textContent = "";
  const name = new URLSearchParams(location.search).get("name");
  try {
    if (name) await showTrainee(name);
    else await showTrainees();
  } catch (e) {
    if (e.status === 401) {
      sessionStorage.removeItem(KEY);
      token = null;
      showLogin("Unknown token.");
    } else {
      $("#error").textContent = e.message;
    }
  }
}

$("#login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("#token").value.trim();
  sessionStorage.setItem(KEY, token);
  start();
});

if (token) start();
else showLogin();
