// The participant's page: the emoticon alone. It shows what the server pushes, says when
// each emoticon was on screen, and streams camera frames with their capture times (all on
// this page's performance.now() clock). Nothing of the reading is shown here.
"use strict";

const MAX_BUFFERED = 4 * 1024 * 1024; // bytes queued on the socket before frames are dropped
const MAX_ENCODING = 2; // encodes in flight
const RECONNECT_MS = 1000;

const video = document.getElementById("camera");
const stage = document.getElementById("emoticon");
const notice = document.getElementById("notice");
const grab = document.createElement("canvas");
const stats = (window.laetitiaStats = { sent: 0, dropped: 0, reconnects: 0, shows: 0 });
let ws = null;
let seq = 0;
let encoding = 0;
let paused = false;
let ended = false;
let drawnOnce = false;
let capture = { format: "image/jpeg", quality: 0.92 };
let instructions = null;
let cameraState = { ok: false, why: "not asked yet", settings: null };

function say(text) {
  notice.textContent = text;
  notice.style.display = text ? "flex" : "none";
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function sendCamera() {
  send({ type: "camera", ok: cameraState.ok, why: cameraState.why,
         settings: cameraState.settings, user_agent: navigator.userAgent });
}

function cameraLost(why) {
  cameraState = { ok: false, why, settings: cameraState.settings };
  sendCamera();
  if (!ended) say("The camera stopped. Check it, then reload this page.");
}

async function openCamera() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      // The camera's own size and rate: Chrome's default (640x480) would crop and scale a
      // 16:9 camera, and resizeMode "none" asks for its native frames.
      video: { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 30 },
               resizeMode: "none" },
    });
    const track = stream.getVideoTracks()[0];
    const s = track.getSettings();
    cameraState = { ok: true, why: "", settings: { width: s.width, height: s.height,
                                                    frameRate: s.frameRate } };
    track.addEventListener("ended", () => cameraLost("ended"));
    track.addEventListener("mute", () => cameraLost("muted"));
    track.addEventListener("unmute", () => { cameraState.ok = true; sendCamera(); say(""); });
    video.srcObject = stream;
    await video.play();
    video.requestVideoFrameCallback(onFrame);
  } catch (error) {
    cameraState = { ok: false, why: String(error.name || error), settings: null };
    say("This study needs your camera. Allow it, then reload this page.");
  }
}

function onFrame(now, meta) {
  video.requestVideoFrameCallback(onFrame);
  // captureTime: when the camera took the frame (this page's clock). Not every browser gives
  // it; the fallbacks are said with the frame.
  let t = meta.captureTime, kind = "captureTime";
  if (t === undefined) { t = meta.expectedDisplayTime; kind = "expectedDisplayTime"; }
  if (t === undefined) { t = now; kind = "rvfc-now"; }
  if (!ws || ws.readyState !== WebSocket.OPEN || paused || ended) return;
  if (ws.bufferedAmount > MAX_BUFFERED || encoding >= MAX_ENCODING) { stats.dropped++; return; }
  const w = meta.width, h = meta.height;
  if (grab.width !== w || grab.height !== h) { grab.width = w; grab.height = h; }
  grab.getContext("2d").drawImage(video, 0, 0, w, h);
  const header = new TextEncoder().encode(JSON.stringify({ seq: seq++, t, t_kind: kind, w, h }));
  encoding++;
  grab.toBlob((blob) => {
    encoding--;
    if (!blob || !ws || ws.readyState !== WebSocket.OPEN) return;
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, header.length, true);
    ws.send(new Blob([prefix, header, blob]));
    stats.sent++;
  }, capture.format, capture.quality);
}

async function show(message) {
  const image = new Image();
  image.src = message.image;
  await image.decode(); // decoded before it is drawn: never half an emoticon
  const ctx = stage.getContext("2d");
  if (message.blank_ms > 0 && drawnOnce) {
    ctx.clearRect(0, 0, stage.width, stage.height);
    await new Promise((resolve) => setTimeout(resolve, message.blank_ms));
  }
  // Drawn in one animation frame; the next frame's callback runs once that frame was
  // presented, and its timestamp is when the emoticon went on screen (to within a frame).
  requestAnimationFrame(() => {
    ctx.clearRect(0, 0, stage.width, stage.height);
    ctx.drawImage(image, 0, 0, stage.width, stage.height);
    drawnOnce = true;
    requestAnimationFrame((ts) => {
      stats.shows++;
      send({ type: "drawn", show_id: message.show_id, t_page: ts });
    });
  });
}

function pauseScreen(message) {
  if (message.instructions && instructions) say(`${instructions}\n\nPress space to begin.`);
  else say("Paused. Press space to go on.");
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws${location.search}`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    if (cameraState.ok && !paused) say("");
    sendCamera();
    send({ type: "visibility", hidden: document.hidden });
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "hello":
        capture = message.capture;
        instructions = message.instructions;
        paused = false;
        break;
      case "ping":
        send({ type: "pong", t0: message.t0, t_page: performance.now() });
        break;
      case "show":
        show(message);
        break;
      case "pause":
        paused = true;
        pauseScreen(message);
        break;
      case "resume":
        paused = false;
        say(cameraState.ok ? "" : notice.textContent);
        break;
      case "end":
        ended = true;
        say(message.text);
        if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
        ws.close();
        break;
    }
  };
  ws.onclose = () => {
    if (ended) return;
    say("Connection lost: reconnecting...");
    stats.reconnects++;
    setTimeout(connect, RECONNECT_MS);
  };
}

document.addEventListener("visibilitychange", () => {
  send({ type: "visibility", hidden: document.hidden });
});
document.addEventListener("keydown", (event) => {
  if (event.code === "Space" && !ended) send({ type: "pause", paused: !paused });
});

(async () => {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    say("Open this page over https (or on this machine): browsers give the camera only there.");
    return;
  }
  await openCamera();
  connect();
})();
