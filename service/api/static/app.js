// ashiwatch dashboard: plain JS, no build step, no network but this server (docs/service.md).
// api.js (loaded first) gives the token, $ and api().
"use strict";

const FEED_MAX = 300;             // feed items kept per camera
let audio = null;                 // AudioContext, made on a user gesture (autoplay rules)
const cameras = new Map();        // id -> {el, source, feet: {left, right}}
let pollTimer = null;
let jobTimer = null;

// -- API (api() is in api.js) ---------------------------------------------------------------

async function blobUrl(path) {
  // images and files behind the token: fetched with the header, shown from a blob: URL
  const r = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) throw Object.assign(new Error(`${r.status}`), { status: r.status });
  return URL.createObjectURL(await r.blob());
}

// -- login ----------------------------------------------------------------------------------

function unlockAudio() {
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  } catch (e) { audio = null; }
}

function beep() {
  // a short two-tone alarm for critical alerts: WebAudio, no audio file
  if (!audio) return;
  const t0 = audio.currentTime;
  [0, 0.18].forEach((dt, i) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = i ? 660 : 880;
    gain.gain.setValueAtTime(0.15, t0 + dt);
    gain.gain.exponentialRampToValueAtTime(0.001, t0 + dt + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + dt);
    osc.stop(t0 + dt + 0.17);
  });
  window.ashiwatchBeeps = (window.ashiwatchBeeps || 0) + 1;   // for tests
}

async function login(candidate) {
  token = candidate;
  try {
    await api("/cameras");
  } catch (e) {
    token = null;
    sessionStorage.removeItem(KEY);
    $("#login-error").textContent = e.status === 401 ? "Unknown token." : `Cannot log in (${e.message})`;
    return false;
  }
  sessionStorage.setItem(KEY, token);
  $("#login-error").textContent = "";
  $("#login").hidden = true;
  $("#nav").hidden = false;
  show("live");
  return true;
}

function logout() {
  sessionStorage.removeItem(KEY);
  token = null;
  for (const cam of cameras.values()) closeCamera(cam);
  cameras.clear();
  $("#cameras").replaceChildren();
  clearInterval(pollTimer);
  clearInterval(jobTimer);
  $("#nav").hidden = true;
  document.querySelectorAll(".view").forEach(v => { v.hidden = true; });
  $("#login").hidden = false;
}

function show(view) {
  document.querySelectorAll(".view").forEach(v => { v.hidden = v.id !== view; });
  document.querySelectorAll(".tab").forEach(b => b.classList.toggle("active", b.dataset.view === view));
  clearInterval(pollTimer);
  clearInterval(jobTimer);
  if (view === "live") {
    refreshCameras();
    pollTimer = setInterval(refreshCameras, 5000);
  } else {
    refreshAudits();
    jobTimer = setInterval(refreshAudits, 1000);
  }
}

// -- live: cameras, feeds, back map --------------------------------------------------------

async function refreshCameras() {
  let list;
  try { list = await api("/cameras"); } catch (e) {
    if (e.status === 401) logout();
    return;
  }
  $("#cameras-empty").hidden = list.length > 0;
  const seen = new Set();
  for (const c of list) {
    seen.add(c.id);
    if (!cameras.has(c.id)) addCamera(c);
  }
  for (const [id, cam] of cameras) {      // deleted cameras
    if (!seen.has(id)) { closeCamera(cam); cam.el.remove(); cameras.delete(id); }
  }
}

function closeCamera(cam) {
  cam.source.close();
  $(".live", cam.el).removeAttribute("src");     // ends the MJPEG connection
}

function addCamera(c) {
  const el = $("#camera-template").content.firstElementChild.cloneNode(true);
  el.dataset.camera = c.id;
  el.id = `camera-${c.id}`;
  $(".name", el).textContent = c.name;
  $("#cameras").appendChild(el);
  // EventSource cannot set headers: the token goes as ?token= (accepted on event streams only).
  // It reconnects by itself, sending Last-Event-ID: the server replays what was missed.
  const source = new EventSource(`/cameras/${c.id}/events?token=${encodeURIComponent(token)}`);
  // the live view: an MJPEG stream (an <img> cannot send headers either)
  $(".live", el).src = `/cameras/${c.id}/live.mjpg?width=480&fps=5&token=${encodeURIComponent(token)}`;
  const cam = { id: c.id, el, source, feet: {} };
  cameras.set(c.id, cam);
  for (const type of ["alert_start", "alert_end", "camera_online", "camera_offline", "step"]) {
    source.addEventListener(type, ev => onEvent(cam, JSON.parse(ev.data)));
  }
  source.onerror = () => setState(cam, false, "reconnecting");
}

function setState(cam, online, text) {
  const s = $(".state", cam.el);
  s.className = `state ${online ? "online" : "offline"}`;
  s.textContent = text || (online ? "online" : "offline");
}

const LABEL = {
  alert_start: "▲", alert_end: "▽", camera_online: "●", camera_offline: "○", step: "·",
};

function describe(e) {
  const foot = e.foot ? ` (${e.foot} foot)` : "";
  switch (e.type) {
    case "alert_start": return `${e.kind}${foot} — ${e.severity}`;
    case "alert_end": return `${e.kind}${foot} ended`;
    case "step": return `step on ${e.kind}${foot}`;
    case "camera_online": return `online${e.detail ? ": " + e.detail : ""}`;
    case "camera_offline": return `offline${e.detail ? ": " + e.detail : ""}`;
    default: return e.type;
  }
}

function onEvent(cam, e) {
  if (e.type === "camera_online") { setState(cam, true); cam.feet = {}; }
  if (e.type === "camera_offline") { setState(cam, false); cam.feet = {}; }
  if (e.type === "step") cam.feet[e.foot] = e;
  // a danger-zone step's alert ends when the foot lifts (or moves): its zone goes dark
  const lifted = e.type === "alert_end" && e.foot && cam.feet[e.foot] &&
                 e.kind === `step_on_${cam.feet[e.foot].kind}`;
  if (lifted) delete cam.feet[e.foot];
  if (lifted || e.type === "step" || e.type.startsWith("camera_")) drawMap(cam);

  const li = document.createElement("li");
  li.className = `event ${e.type}` + (e.severity ? ` ${e.severity}` : "");
  li.dataset.type = e.type;
  li.dataset.id = e.id;
  if (e.kind) li.dataset.kind = e.kind;
  if (e.severity) li.dataset.severity = e.severity;
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = e.t == null ? "" : `${e.t.toFixed(2)} s`;
  li.append(LABEL[e.type] || "", " ", t, describe(e));
  if (e.type === "alert_start") {
    // its picture (written just after the event): fetched when asked for
    const b = document.createElement("button");
    b.type = "button";
    b.className = "snap";
    b.textContent = "snapshot";
    b.onclick = () => toggleSnapshot(li, `/cameras/${cam.id}/events/${e.id}/snapshot`);
    li.append(b);
  }
  const feed = $(".feed", cam.el);
  feed.prepend(li);                         // newest on top
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();

  // a sound for critical alerts as they happen (not for the history replayed on connect)
  if (e.type === "alert_start" && e.severity === "critical" && Date.now() / 1000 - e.wall_time < 10) {
    beep();
  }
}

async function toggleSnapshot(li, path) {
  const shown = $("img.snapshot", li);
  if (shown) { URL.revokeObjectURL(shown.src); shown.remove(); return; }
  const img = document.createElement("img");
  img.className = "snapshot";
  img.alt = "snapshot of this alert (faces blurred)";
  try { img.src = await blobUrl(path); } catch (e) {
    img.alt = e.status === 404 ? "no snapshot (yet)" : `snapshot failed (${e.message})`;
  }
  li.append(img);
}

function drawMap(cam) {
  // light the zone under each planted foot (its latest step event)
  const svg = $(".backmap", cam.el);
  svg.querySelectorAll(".zone").forEach(z => z.classList.remove("lit", "critical", "warning"));
  const parts = [];
  let safe = false;
  for (const side of ["left", "right"]) {
    const s = cam.feet[side];
    if (!s) continue;
    parts.push(`${side[0].toUpperCase()}: ${s.kind}`);
    if (s.kind === "safe") safe = true;
    svg.querySelectorAll(`.zone[data-zone="${s.kind}"]`).forEach(z => {
      z.classList.add("lit");
      if (s.severity) z.classList.add(s.severity);
    });
  }
  svg.classList.toggle("safe-step", safe);
  $(".feet", svg).textContent = parts.join("  ");
}

// -- audits: upload, progress, report ------------------------------------------------------

function fmtTime(unix) { return new Date(unix * 1000).toLocaleTimeString(); }

async function refreshAudits() {
  let jobs;
  try { jobs = await api("/audits"); } catch (e) {
    if (e.status === 401) { logout(); return; }
    $("#audits-error").textContent = e.status === 403 ? "Your role may not see audits." : e.message;
    clearInterval(jobTimer);
    return;
  }
  $("#audits-error").textContent = "";
  const rows = jobs.map(j => {
    const tr = document.createElement("tr");
    tr.dataset.job = j.id;
    tr.dataset.status = j.status;
    tr.className = j.status;
    const cells = [j.filename, j.status + (j.error ? `: ${j.error}` : ""),
                   `${Math.round(j.progress)} %`, fmtTime(j.created)];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    if (j.status === "done") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "report-link";
      b.textContent = "report";
      b.onclick = () => openReport(j.id, j.filename);
      td.appendChild(b);
    }
    tr.appendChild(td);
    return tr;
  });
  $("#audit-table tbody").replaceChildren(...rows);
}

async function openReport(id, filename) {
  // everything here needs the token in a header: fetched, then shown from blob: URLs
  const job = await api(`/audits/${id}`);
  const rep = job.report;
  const s = rep.summary;
  $("#report-summary").textContent = [
    `file: ${filename}`,
    `verdict: ${s.verdict}`,
    `duration: ${rep.duration_s.toFixed(1)} s, ${rep.frames} frames`,
    `steps: ${s.steps}  by zone: ${JSON.stringify(s.steps_by_zone)}`,
    `critical alerts: ${s.critical_alerts}, warnings: ${s.warning_alerts}`,
    `alerts by kind: ${JSON.stringify(s.alerts_by_kind)}`,
  ].join("\n");
  const stem = filename.replace(/\.[^.]*$/, "");
  const a = $("#report-download");
  if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([JSON.stringify(rep, null, 2)], { type: "application/json" }));
  a.download = `${stem}-report.json`;
  const html = $("#report-html");
  if (html.href.startsWith("blob:")) URL.revokeObjectURL(html.href);
  html.href = await blobUrl(`/audits/${id}/report.html`);
  const video = $("#report-video");
  video.hidden = !job.video;
  video.onclick = async ev => {
    ev.preventDefault();
    const link = document.createElement("a");
    link.href = await blobUrl(job.video);
    link.download = `${stem}-annotated.mp4`;
    link.click();
  };
  // each alert with its snapshot
  for (const img of document.querySelectorAll("#report-alerts img")) URL.revokeObjectURL(img.src);
  const shots = new Map(job.snapshots.map(x => [x.alert, x]));
  const items = rep.alerts.map((al, i) => {
    const li = document.createElement("li");
    li.className = `alert ${al.severity}`;
    li.dataset.alert = i;
    li.textContent = `${al.kind}${al.foot ? ` (${al.foot} foot)` : ""} — ${al.severity}, ` +
                     `${al.start_s.toFixed(2)}–${al.end_s.toFixed(2)} s`;
    const shot = shots.get(i);
    if (shot) {
      const img = document.createElement("img");
      img.alt = `snapshot of alert ${i + 1} (faces blurred)`;
      img.className = "snapshot";
      blobUrl(shot.url).then(u => { img.src = u; }).catch(() => { img.alt = "snapshot missing"; });
      li.append(img);
    } else {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "no snapshot";
      li.append(p);
    }
    return li;
  });
  $("#report-alerts").replaceChildren(...items);
  $("#report-no-alerts").hidden = items.length > 0;
  $("#report").hidden = false;
  $("#report").dataset.job = id;
}

function upload(ev) {
  ev.preventDefault();
  const file = $("#upload-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  const studio = $("#upload-studio").value.trim();
  if (studio) form.append("studio", studio);
  if ($("#upload-annotate").checked) form.append("annotate", "true");
  // XMLHttpRequest, not fetch: it reports upload progress
  const xhr = new XMLHttpRequest();
  const bar = $("#upload-progress");
  const status = $("#upload-status");
  bar.hidden = false;
  bar.value = 0;
  status.textContent = `uploading ${file.name}…`;
  xhr.upload.onprogress = e => { if (e.lengthComputable) bar.value = 100 * e.loaded / e.total; };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status === 202) {
      bar.value = 100;
      status.textContent = `uploaded: audit ${body.id} ${body.status}`;
      status.dataset.job = body.id;
      $("#upload-form").reset();
      refreshAudits();
    } else {
      status.textContent = `upload refused (${xhr.status}): ${body.detail || xhr.statusText}`;
    }
  };
  xhr.onerror = () => { status.textContent = "upload failed: network error"; };
  xhr.open("POST", "/audits");
  xhr.setRequestHeader("Authorization", `Bearer ${token}`);
  xhr.send(form);
}

// -- wiring ---------------------------------------------------------------------------------

$("#login-form").addEventListener("submit", ev => {
  ev.preventDefault();
  unlockAudio();
  login($("#token").value.trim());
});
$("#logout").addEventListener("click", logout);
document.querySelectorAll(".tab").forEach(b => b.addEventListener("click", () => show(b.dataset.view)));
$("#upload-form").addEventListener("submit", upload);
document.addEventListener("click", unlockAudio, { once: true });

if (token) login(token);
