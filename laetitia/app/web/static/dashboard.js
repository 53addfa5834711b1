// The experimenter's dashboard: the session's events over a WebSocket, and its buttons.
"use strict";

const $ = (id) => document.getElementById(id);
const CURVE_W = 660, CURVE_H = 180, CURVE_STEPS = 200;
const rewards = [];
const scored = [];
const seen = (window.laetitiaDashboard = { events: 0, steps: 0 });
const scheme = location.protocol === "https:" ? "wss" : "ws";
let ws = null;
let ended = false;

function drawCurve() {
  const svg = $("curve");
  const first = Math.max(0, rewards.length - CURVE_STEPS);
  const n = Math.max(rewards.length - first - 1, 1);
  const x = (i) => 4 + (CURVE_W - 8) * (i - first) / n;
  const y = (r) => CURVE_H - 4 - (CURVE_H - 8) * Math.min(Math.max(r, 0), 1);
  const parts = [];
  let run = [];
  const flush = () => {
    if (run.length) parts.push(`<polyline points="${run.join(" ")}"/>`);
    run = [];
  };
  for (let i = first; i < rewards.length; i++) {
    if (rewards[i] === undefined) continue;
    if (scored[i]) { run.push(`${x(i).toFixed(1)},${y(rewards[i]).toFixed(1)}`); continue; }
    // A step without a face is a gap in the curve, marked at the bottom, never a zero.
    flush();
    parts.push(`<line class="unscored" x1="${x(i)}" x2="${x(i)}" y1="${CURVE_H - 10}" y2="${CURVE_H}"/>`);
  }
  flush();
  svg.innerHTML = parts.join("");
}

function showStep(e) {
  $("step").textContent = e.step;
  $("episode").textContent = e.episode;
  rewards[e.step] = e.reward;
  scored[e.step] = e.scored;
  seen.steps++;
  drawCurve();
  if (e.frames !== undefined) {
    $("signal-name").textContent = e.signal_name;
    $("signal").textContent = e.signal === null ? "no face" : e.signal.toFixed(2);
    $("gauge").firstElementChild.style.width = `${100 * (e.signal || 0)}%`;
    $("frames").innerHTML = e.frames.map((v) => v === null
      ? '<div class="noface" title="no face"></div>'
      : `<div style="height:${Math.max(2, 40 * v)}px" title="${v.toFixed(2)}"></div>`).join("");
    $("noface").textContent = e.no_face_total;
    $("preview").hidden = e.preview === null;
    $("no-preview").hidden = e.preview !== null;
    if (e.preview !== null) $("preview").src = e.preview;
  }
  if (e.best) {
    if (e.best.image) { $("best-image").src = e.best.image; $("best-image").hidden = false; }
    $("best-none").hidden = true;
    $("best").innerHTML = Object.entries(e.best.params)
      .map(([name, value]) => `<tr><td>${name}</td><td>${value.toFixed(3)}</td></tr>`).join("");
  }
}

function showState(e) {
  const state = $("state");
  if (e.ending) { ended = true; state.textContent = "ended"; state.className = "ended"; return; }
  state.textContent = e.paused ? `paused by the ${e.by}` : "running";
  state.className = e.paused ? "paused" : "running";
}

function handle(e) {
  seen.events++;
  switch (e.type) {
    case "session":
      $("viewer").textContent = e.viewer;
      if (e.signal) $("signal-name").textContent = e.signal;
      if (e.preview === "none") { $("preview").hidden = true; $("no-preview").hidden = false; }
      break;
    case "history":
      rewards.length = 0; scored.length = 0;
      rewards.push(...e.rewards); scored.push(...e.scored);
      drawCurve();
      break;
    case "step": showStep(e); break;
    case "show": $("emoticon").src = e.image; break;
    case "state": showState(e); break;
    case "status": $("status").textContent = e.text; break;
  }
}

function connect() {
  ws = new WebSocket(`${scheme}://${location.host}/ws${location.search}`);
  ws.onopen = () => { if (!ended) showState({ paused: false }); };
  ws.onmessage = (event) => handle(JSON.parse(event.data));
  ws.onclose = () => {
    const state = $("state");
    if (!ended) { state.textContent = "no session (the run has stopped)"; state.className = "ended"; }
  };
}

for (const action of ["pause", "resume", "end"]) {
  $(action).addEventListener("click", () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "control", action }));
  });
}
connect();
