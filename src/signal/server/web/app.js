// rtccall call page: joins a room on the server that served it and speaks rtccall's signaling
// protocol (see the README) over a WebSocket on the same port.
// URL parameters: room=NAME, autojoin=1 (join at once and take incoming calls),
// codec=vp8|h264|vp9 (preferred video codec). window.rtccall exposes the state for tests:
// phase, connection, error, ended, stats, log, chat, files, local ({mute, video}: this side's
// microphone muted, camera on), remote (the same as the other side last said in `control`
// messages on the liveness channel) and sas (the four security words of the connected call,
// or null). window.rtccallControl = {setMute, setVideo} does what the Mute/Camera buttons do.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// An access token (?token=, for a server run with --secret) is kept for this tab and taken
// out of the address bar, so it is not shared with the link or shown in a screenshot.
const token = params.get("token") || sessionStorage.getItem("rtccall-token");
if (params.has("token")) {
  sessionStorage.setItem("rtccall-token", params.get("token"));
  params.delete("token");
  history.replaceState(null, "", location.pathname + (params.toString() ? `?${params}` : ""));
}
const state = {
  phase: "idle",          // idle, joining, waiting, incoming, calling, connected, ended, error
  connection: "new",      // RTCPeerConnection.connectionState
  error: null,
  ended: null,            // why the call ended
  stats: {},
  log: [],
  local: { mute: false, video: true },   // mute: microphone muted; video: camera on
  remote: { mute: false, video: true },  // as the other side's `control` messages last said
  sas: null,                             // "word word word word" once connected, else null
};
window.rtccall = state;

let ws = null;
let pc = null;
let local = null;
let iceServers = [];
let pendingOffer = null;
let pendingCandidates = [];
let remoteSet = false;
let statsTimer = null;
let last = null;

function log(text) {
  const line = `${(performance.now() / 1000).toFixed(2)} ${text}`;
  state.log.push(line);
  const el = $("log");
  el.textContent += line + "\n";
  el.scrollTop = el.scrollHeight;
}

function setPhase(p) {
  state.phase = p;
  const conn = state.connection;
  $("state").textContent = p + (conn !== "new" && conn !== p ? ` (${conn})` : "");
  $("join").disabled = !["idle", "ended", "error"].includes(p);
  $("hangup").disabled = ["idle", "ended", "error"].includes(p);
  $("incoming").classList.toggle("show", p === "incoming");
  // Mute and camera act on the local tracks while a call is connecting or connected.
  const live = (p === "calling" || p === "connected") && !!local;
  $("mute").disabled = !live;
  $("camera").disabled = !live;
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

async function media() {
  if (local) return local;
  if (!navigator.mediaDevices) {
    throw new Error("the camera and microphone need a secure context: open this page as " +
      "http://localhost:PORT (an SSH tunnel works) or through an HTTPS proxy");
  }
  local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  // Muted or camera off already (window.rtccallControl before the first call): so the tracks.
  for (const t of local.getAudioTracks()) t.enabled = !state.local.mute;
  for (const t of local.getVideoTracks()) t.enabled = state.local.video;
  $("local").srcObject = local;
  return local;
}

function preferCodec(pc) {
  const want = (params.get("codec") || "").toLowerCase();
  if (!want || !RTCRtpReceiver.getCapabilities) return;
  const mime = { vp8: "video/VP8", h264: "video/H264", vp9: "video/VP9" }[want];
  if (!mime) return;
  const caps = RTCRtpReceiver.getCapabilities("video").codecs;
  const first = caps.filter((c) => c.mimeType.toLowerCase() === mime.toLowerCase());
  const rest = caps.filter((c) => c.mimeType.toLowerCase() !== mime.toLowerCase());
  for (const t of pc.getTransceivers()) {
    if (t.receiver.track && t.receiver.track.kind === "video" && t.setCodecPreferences) {
      t.setCodecPreferences(first.concat(rest));
    }
  }
}

// ---- This side as an rtcstats dump (file format 3; the README's "Pictures of a call") ----
const dump = { lines: [], last: 0, start: Date.now(), base: {} };
// getStats as the format's delta compression has it (as rtccall writes it): per object only the
// members that changed and `timestamp`, new objects whole, objects gone as null.
function statsDelta(now) {
  const delta = {};
  for (const [id, o] of Object.entries(now)) {
    const old = dump.base[id];
    if (!old) { delta[id] = o; continue; }
    const changed = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === "id") continue;
      if (k === "timestamp" || JSON.stringify(old[k]) !== JSON.stringify(v)) changed[k] = v;
    }
    delta[id] = changed;
  }
  for (const id of Object.keys(dump.base)) if (!(id in now)) delta[id] = null;
  dump.base = now;
  return delta;
}
function trace(method, value) {
  const t = performance.timeOrigin + performance.now();
  const v = value === undefined ? null : value;
  dump.lines.push(JSON.stringify([method, "PC_0", v, dump.last ? t - dump.last : t]));
  dump.last = t;
}
function plain(v) { return v && typeof v.toJSON === "function" ? v.toJSON() : v; }
function statsDump() {
  const meta = {
    fileFormat: 3, startTime: dump.start, userAgent: navigator.userAgent,
    room: $("room").value, role: isDialer ? "dial" : "answer", origin: location.origin,
  };
  return "RTCStatsDump\n" + JSON.stringify(meta) + "\n" + dump.lines.map((l) => l + "\n").join("");
}
window.rtccallStatsDump = statsDump;

function newPeer() {
  pc = new RTCPeerConnection({ iceServers });
  // What the other side said, its liveness channels and the security words are of one call.
  liveChannels.clear();
  resetRemote();
  resetSas();
  // The dump is of this call.
  dump.lines = [];
  dump.last = 0;
  dump.start = Date.now();
  dump.base = {};
  trace("create", { iceServers: iceServers.map((s) => ({ urls: s.urls, username: s.username })) });
  // Every negotiation call and its outcome goes into the dump.
  for (const m of ["createOffer", "createAnswer", "setLocalDescription", "setRemoteDescription", "addIceCandidate"]) {
    const orig = pc[m].bind(pc);
    pc[m] = async (...args) => {
      trace(m, plain(args[0]));
      try {
        const r = await orig(...args);
        trace(m + "OnSuccess", plain(r));
        return r;
      } catch (e) {
        trace(m + "OnFailure", String(e));
        throw e;
      }
    };
  }
  pc.onsignalingstatechange = () => {
    trace("onsignalingstatechange", pc.signalingState);
    // After a renegotiation (an ICE restart) the words are recomputed if the fingerprints changed.
    if (pc.signalingState === "stable" && pc.connectionState === "connected") updateSas();
  };
  pc.onicegatheringstatechange = () => trace("onicegatheringstatechange", pc.iceGatheringState);
  remoteSet = false;
  pendingCandidates = [];
  pc.onicecandidate = (e) => {
    trace("onicecandidate", e.candidate ? plain(e.candidate) : null);
    if (e.candidate) {
      send({
        type: "candidate",
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
        usernameFragment: e.candidate.usernameFragment,
      });
    } else {
      send({ type: "candidate", candidate: null, sdpMid: null, sdpMLineIndex: null });
    }
  };
  pc.ontrack = (e) => {
    trace("ontrack", `${e.track.kind}: ${e.track.id}`);
    log(`remote ${e.track.kind} track`);
    const stream = $("remote").srcObject || new MediaStream();
    stream.addTrack(e.track);
    $("remote").srcObject = stream;
  };
  pc.ondatachannel = (e) => {
    const dc = e.channel;
    dc.binaryType = "arraybuffer";
    switch (dc.label) {
      case "rtccall-chat": receiveChat(dc); break;
      case "rtccall-file": receiveFile(dc); break;
      case "rtccall-throughput": serveThroughput(dc); break;
      default:
        // rtccall pings on its data channel; echo each ping. It carries control messages too.
        dc.onmessage = (m) => liveness(dc, m);
        addLiveChannel(dc);
    }
  };
  pc.onconnectionstatechange = () => {
    trace("onconnectionstatechange", pc.connectionState);
    state.connection = pc.connectionState;
    log(`connection ${pc.connectionState}`);
    if (pc.connectionState === "connected") { setPhase("connected"); updateSas(); }
    // While an ICE restart is under way the other side is alive: wait for it.
    else if (pc.connectionState === "failed" && !restarting) end("connection failed");
    else setPhase(state.phase);
  };
  // ICE restart, as rtccall does it: a second after `disconnected`, the dialer offers with new
  // ICE credentials; the answerer asks the dialer to with a `restart` message.
  pc.oniceconnectionstatechange = () => {
    const s = pc.iceConnectionState;
    trace("oniceconnectionstatechange", s);
    if (s === "connected" || s === "completed") {
      clearTimeout(restartTimer);
      restartTimer = null;
      if (restarting) log("ICE restarted: connected again");
      restarting = false;
    } else if ((s === "disconnected" || s === "failed") && state.phase === "connected" && !restartTimer) {
      restartTimer = setTimeout(() => {
        restartTimer = null;
        const now = pc.iceConnectionState;
        if (now === "disconnected" || now === "failed") restartIce(`ICE ${now} for 1000 ms`);
      }, 1000);
    }
  };
  for (const t of local.getTracks()) pc.addTrack(t, local);
  preferCodec(pc);
  clearInterval(statsTimer);
  statsTimer = setInterval(collectStats, 1000);
  return pc;
}

async function addCandidate(c) {
  if (!c.candidate) {
    if (remoteSet) await pc.addIceCandidate(null).catch(() => {});
    return;
  }
  const init = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
  if (c.usernameFragment) init.usernameFragment = c.usernameFragment;
  if (!pc || !remoteSet) { pendingCandidates.push(init); return; }
  await pc.addIceCandidate(init).catch((e) => log(`candidate refused: ${e}`));
}

async function flushCandidates() {
  remoteSet = true;
  for (const c of pendingCandidates.splice(0)) {
    await pc.addIceCandidate(c).catch((e) => log(`candidate refused: ${e}`));
  }
}

let restarting = false;
let restartTimer = null;

async function restartIce(why) {
  restarting = true;
  log(`ICE restart: ${why}`);
  if (isDialer) {
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    send({ type: "offer", sdp: pc.localDescription.sdp });
  } else {
    send({ type: "restart", reason: why });
  }
}

async function answerAgain(sdp) {
  restarting = true;
  await pc.setRemoteDescription({ type: "offer", sdp });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  send({ type: "answer", sdp: pc.localDescription.sdp });
  log("ICE restart answered");
}

let isDialer = false;

async function dial() {
  isDialer = true;
  setPhase("calling");
  newPeer();
  // As rtccall's dialer: the liveness channel, in the offer, answered ping by pong.
  const live = pc.createDataChannel("rtccall");
  live.onmessage = (m) => liveness(live, m);
  addLiveChannel(live);
  let seq = 0;
  live.onopen = () => {
    const t = setInterval(() => {
      if (live.readyState !== "open") { clearInterval(t); return; }
      live.send(`ping ${seq++}`);
    }, 100);
  };
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  send({ type: "offer", sdp: pc.localDescription.sdp });
  log("offer sent");
}

async function accept() {
  isDialer = false;
  const sdp = pendingOffer;
  pendingOffer = null;
  setPhase("calling");
  newPeer();
  await pc.setRemoteDescription({ type: "offer", sdp });
  preferCodec(pc);
  await flushCandidates();
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  send({ type: "answer", sdp: pc.localDescription.sdp });
  log("answer sent");
}

function reject() {
  pendingOffer = null;
  send({ type: "reject", reason: "declined in the browser" });
  setPhase("waiting");
}

// A message on a liveness channel (README, "The data channel"): pings are echoed, clock
// questions answered with our time (µs) at receipt, a `bye` (the other side hung up while
// its signaling was down) ends the call, and `control` messages say whether the other side's
// microphone is muted and its camera on. Anything else is ignored; nothing here throws.
function liveness(dc, m) {
  try {
    livenessMessage(dc, m);
  } catch (e) {
    log(`liveness channel: ${e.message || e}`);
  }
}

function livenessMessage(dc, m) {
  if (typeof m.data !== "string") return;
  if (m.data.startsWith("ping ")) {
    dc.send("pong " + m.data.slice(5));
    state.stats.dataEchoed = (state.stats.dataEchoed || 0) + 1;
  } else if (/^clock -?\d+$/.test(m.data)) {
    const now = Math.round((performance.timeOrigin + performance.now()) * 1000);
    dc.send(`${m.data} ${now}`);
  } else if (m.data === "bye" || m.data.startsWith("bye ")) {
    end(`remote hang-up${m.data.length > 4 ? ": " + m.data.slice(4) : ""}`);
  } else if (m.data.startsWith("control ")) {
    control(m.data);
  }
}

// ---- Mute, camera and control messages on the liveness channel ----
// `control mute on|off` (my microphone is muted or not) and `control video on|off` (my camera
// is on or not): each side sends both when its liveness channel opens (or, for one the other
// side opened, when first seen open), and the changed one on every change.
const liveChannels = new Set();

function controlMessages() {
  return [
    `control mute ${state.local.mute ? "on" : "off"}`,
    `control video ${state.local.video ? "on" : "off"}`,
  ];
}

function sendOn(dc, text) {
  try {
    if (dc.readyState === "open") dc.send(text);
  } catch (e) {
    log(`${dc.label}: not sent: ${e.message || e}`);
  }
}

function addLiveChannel(dc) {
  liveChannels.add(dc);
  const hello = () => { for (const t of controlMessages()) sendOn(dc, t); };
  if (dc.readyState === "open") hello();
  else dc.addEventListener("open", hello, { once: true });
  dc.addEventListener("close", () => liveChannels.delete(dc));
}

function sendControl(text) {
  for (const dc of liveChannels) sendOn(dc, text);
}

function control(text) {
  const m = /^control (mute|video) (on|off)$/.exec(text);
  if (!m) return;  // an unknown word or state
  const on = m[2] === "on";
  const r = state.remote;
  if (m[1] === "mute" && r.mute !== on) {
    r.mute = on;
    log(`the other side ${on ? "muted" : "unmuted"} its microphone`);
  } else if (m[1] === "video" && r.video !== on) {
    r.video = on;
    log(`the other side turned its camera ${on ? "on" : "off"}`);
  }
  showRemote();
}

function showRemote() {
  const r = state.remote;
  const parts = [];
  if (r.mute) parts.push("muted");
  if (!r.video) parts.push("video off");
  $("remote-state").textContent = parts.join(", ");
}

function resetRemote() {
  state.remote = { mute: false, video: true };
  showRemote();
}

function showLocal() {
  $("mute").textContent = state.local.mute ? "Unmute" : "Mute";
  $("mute").setAttribute("aria-pressed", String(state.local.mute));
  $("camera").textContent = state.local.video ? "Camera off" : "Camera on";
  $("camera").setAttribute("aria-pressed", String(!state.local.video));
}

// A muted track sends silence, a disabled camera black frames: the streams stay up.
function setMute(on) {
  on = !!on;
  if (local) for (const t of local.getAudioTracks()) t.enabled = !on;
  if (state.local.mute === on) return;
  state.local.mute = on;
  showLocal();
  log(on ? "microphone muted" : "microphone unmuted");
  sendControl(controlMessages()[0]);
}

function setVideo(on) {
  on = !!on;
  if (local) for (const t of local.getVideoTracks()) t.enabled = on;
  if (state.local.video === on) return;
  state.local.video = on;
  showLocal();
  log(on ? "camera on" : "camera off");
  sendControl(controlMessages()[1]);
}

window.rtccallControl = { setMute, setVideo };

// ---- Security words (a short authentication string) from the two DTLS fingerprints ----
// Both sides hash the two fingerprints, sorted, and read four words of the PGP word list from
// the digest: words that differ mean the DTLS connection does not end where each side thinks.
let sasKey = null;     // the fingerprint pair the words are (being) computed for
let sasWords = null;   // a promise of {even, odd}, from /sas-words.txt

/// `hash value` (both lower case) of an SDP's first sha-256 `a=fingerprint:` line, else of its
/// first one at all; null if it has none.
function sdpFingerprint(sdp) {
  if (!sdp) return null;
  const all = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith("a=fingerprint:")) continue;
    const m = /^(\S+)\s+(.+)$/.exec(line.slice("a=fingerprint:".length).trim());
    if (m) all.push({ hash: m[1].toLowerCase(), value: m[2].toLowerCase() });
  }
  const f = all.find((x) => x.hash === "sha-256") || all[0];
  return f ? `${f.hash} ${f.value}` : null;
}

function loadSasWords() {
  if (!sasWords) {
    sasWords = fetch(new URL("sas-words.txt", location.href)).then(async (r) => {
      if (!r.ok) throw new Error(`sas-words.txt: HTTP ${r.status}`);
      const lines = (await r.text()).replace(/^\uFEFF/, "").split(/\r?\n/);
      const even = (lines[0] || "").split(" "), odd = (lines[1] || "").split(" ");
      if (even.length !== 256 || odd.length !== 256 || even.concat(odd).some((w) => !w)) {
        throw new Error("sas-words.txt: not two lines of 256 words");
      }
      return { even, odd };
    });
    sasWords.catch(() => { sasWords = null; });  // tried again on the next call
  }
  return sasWords;
}

function showSas(text) {
  $("sas").textContent = text;
}

function resetSas() {
  sasKey = null;
  state.sas = null;
  showSas("");
}

async function computeSas() {
  const p = pc;
  if (!p) return;
  const ours = sdpFingerprint(p.localDescription && p.localDescription.sdp);
  const rd = p.currentRemoteDescription || p.remoteDescription;
  const theirs = sdpFingerprint(rd && rd.sdp);
  if (!ours || !theirs) return;
  const [first, second] = ours < theirs ? [ours, theirs] : [theirs, ours];
  const key = first + "\n" + second;
  if (key === sasKey) return;  // the same fingerprints: the same words
  sasKey = key;
  state.sas = null;
  if (!window.crypto || !crypto.subtle) {
    showSas("security words need a secure context");
    return;
  }
  const [digest, words] = await Promise.all([
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
    loadSasWords(),
  ]);
  if (pc !== p || sasKey !== key) return;  // another call, or other fingerprints, since
  const d = new Uint8Array(digest);
  state.sas = [words.even[d[0]], words.odd[d[1]], words.even[d[2]], words.odd[d[3]]].join(" ");
  showSas(`Security words: ${state.sas}`);
  log(`security words: ${state.sas}`);
}

function updateSas() {
  const p = pc;
  computeSas().catch((e) => {
    if (pc !== p) return;
    sasKey = null;
    state.sas = null;
    showSas(`security words unavailable: ${e.message || e}`);
    log(`security words: ${e.message || e}`);
  });
}

function end(why) {
  if (state.ended === null) state.ended = why;
  log(`call ended: ${why}`);
  clearInterval(statsTimer);
  collectStats();
  if (pc) { pc.close(); }
  liveChannels.clear();
  resetRemote();
  resetSas();
  state.connection = "closed";
  setPhase("ended");
}

function hangup() {
  send({ type: "bye", reason: "hang-up" });
  end("hang-up");
  if (ws) ws.close();
}

function onMessage(msg) {
  switch (msg.type) {
    case "joined":
      // The seat's resume token: a reload (or a new connection) asks for the same seat back.
      if (msg.resume) sessionStorage.setItem(`rtccall-resume-${msg.room}`, msg.resume);
      if (Array.isArray(msg.iceServers)) iceServers = msg.iceServers;
      log(`joined room ${msg.room}; peer ${msg.peer}`);
      setPhase("waiting");
      if (msg.peer === "answer" || msg.peer === "unknown") dial();
      break;
    case "peer-joined":
      log(`peer joined (${msg.role})`);
      // A terminal waiting to answer: call it.
      if (msg.role === "answer" && state.phase === "waiting") dial();
      break;
    case "offer":
      // Once connected, an offer restarts ICE.
      if (pc && state.phase === "connected" && !isDialer) { answerAgain(msg.sdp); break; }
      pendingOffer = msg.sdp;
      if (params.get("autojoin") === "1") accept(); else setPhase("incoming");
      break;
    case "answer":
      pc.setRemoteDescription({ type: "answer", sdp: msg.sdp }).then(flushCandidates);
      log("answer received");
      break;
    case "candidate":
      addCandidate(msg);
      break;
    case "restart":
      if (pc && isDialer && state.phase === "connected" && !restarting) restartIce(`the answerer asked: ${msg.reason || ""}`);
      break;
    case "reject":
      end(`rejected: ${msg.reason || ""}`);
      break;
    case "bye":
      end(`remote hang-up${msg.reason ? ": " + msg.reason : ""}`);
      break;
    case "peer-left":
      // Once connected, only the other peer's signaling went: the call goes on until it says
      // bye or the connection fails.
      if (state.phase === "connected") log("the other peer's signaling connection went");
      else if (state.phase !== "waiting") end("the other peer left");
      break;
    case "error":
      state.error = msg;
      log(`server error ${msg.code}: ${msg.message}`);
      if (msg.code === "room-full") { setPhase("error"); $("state").textContent = "room is full"; }
      if (msg.code === "unauthorized") {
        setPhase("error");
        $("state").textContent = "not admitted: this server needs a valid access token (?token=)";
      }
      if (msg.code === "rate-limited" || msg.code === "unavailable") {
        setPhase("error");
        $("state").textContent = msg.message;
      }
      break;
  }
}

async function join() {
  const room = $("room").value.trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(room)) { log("room names are 1-64 of A-Z a-z 0-9 . _ -"); return; }
  state.ended = null;
  state.error = null;
  setPhase("joining");
  try {
    await media();
  } catch (e) {
    state.error = { code: "media", message: String(e) };
    log(`camera/microphone: ${e}`);
    setPhase("error");
    return;
  }
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
  ws = new WebSocket(url);
  const resume = sessionStorage.getItem(`rtccall-resume-${room}`);
  ws.onopen = () => {
    const msg = { type: "join", room };
    if (resume) msg.resume = resume;
    if (token) msg.token = token;
    send(msg);
  };
  ws.onmessage = (e) => { try { onMessage(JSON.parse(e.data)); } catch (err) { log(`bad message: ${err}`); } };
  ws.onclose = () => {
    // A connected call is peer to peer: it outlives the signaling server.
    if (state.phase === "connected") log("signaling lost; the call goes on");
    else if (!["ended", "error", "idle"].includes(state.phase)) end("signaling closed");
  };
}

async function collectStats() {
  if (!pc) return;
  const report = await pc.getStats();
  const now = performance.now();
  const s = state.stats;
  let bytesIn = 0, bytesOut = 0;
  let pairIn = 0, pairOut = 0, transports = 0;
  const byId = new Map();
  report.forEach((r) => byId.set(r.id, r));
  const whole = {};
  report.forEach((r) => { whole[r.id] = r; });
  trace("getStats", statsDelta(whole));
  report.forEach((r) => {
    if (r.type === "transport") { transports++; bytesIn += r.bytesReceived || 0; bytesOut += r.bytesSent || 0; }
    if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") {
      // Firefox has no transport stats: the selected pair carries the same bytes.
      pairIn += r.bytesReceived || 0;
      pairOut += r.bytesSent || 0;
      const l = byId.get(r.localCandidateId), rem = byId.get(r.remoteCandidateId);
      s.pair = `${l ? l.candidateType : "?"} <-> ${rem ? rem.candidateType : "?"}`;
      s.rttMs = r.currentRoundTripTime !== undefined ? r.currentRoundTripTime * 1000 : null;
    }
    if (r.type === "inbound-rtp" && r.kind === "video") {
      s.framesDecoded = r.framesDecoded || 0;
      const codec = byId.get(r.codecId);
      if (codec) s.videoCodecIn = codec.mimeType;
    }
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      s.audioSamplesReceived = r.totalSamplesReceived || 0;
      s.audioPacketsReceived = r.packetsReceived || 0;
    }
  });
  if (!transports) { bytesIn = pairIn; bytesOut = pairOut; }
  if (last) {
    const dt = (now - last.t) / 1000;
    s.kbpsIn = Math.round((bytesIn - last.in) * 8 / dt / 1000);
    s.kbpsOut = Math.round((bytesOut - last.out) * 8 / dt / 1000);
  }
  last = { t: now, in: bytesIn, out: bytesOut };
  $("s-pair").textContent = s.pair || "-";
  $("s-rtt").textContent = s.rttMs != null ? `${s.rttMs.toFixed(1)} ms` : "-";
  $("s-bitrate").textContent = s.kbpsOut != null ? `${s.kbpsOut} / ${s.kbpsIn} kbit/s` : "-";
  $("s-frames").textContent = s.framesDecoded != null ? String(s.framesDecoded) : "-";
  $("s-codec").textContent = s.videoCodecIn || "-";
  $("s-audio").textContent = s.audioSamplesReceived != null ? `${s.audioSamplesReceived} samples` : "-";
}

// ---- Data channels: chat, files, throughput (the README's "Data channels") ----
state.chat = [];   // {direction, id, text, acked}
state.files = [];  // {direction, name, size, bytes, sha256, verified, error}
const CHUNK = 16384;
const MAX_CHAT = 4096;
let chatReady = null;
let chatId = 0;

function clock() { return new Date().toISOString().slice(11, 19) + "Z"; }

/// A channel of our own, resolved once open.
function openChannel(label) {
  return new Promise((resolve, reject) => {
    if (!pc || state.phase !== "connected") { reject(new Error("not in a call")); return; }
    const dc = pc.createDataChannel(label);
    dc.binaryType = "arraybuffer";
    dc.onopen = () => resolve(dc);
    dc.onclose = () => reject(new Error(`the ${label} channel closed`));
  });
}

/// Messages of a channel one at a time: `await next()` gives a parsed object (text), an
/// ArrayBuffer (binary) or null once the channel closed.
function reader(dc) {
  const queue = [], waiting = [];
  let closed = false;
  const put = (v) => { if (waiting.length) waiting.shift()(v); else queue.push(v); };
  dc.onmessage = (e) => {
    if (typeof e.data === "string") {
      try { put(JSON.parse(e.data)); } catch (err) { log(`${dc.label}: not JSON`); }
    } else put(e.data);
  };
  dc.onclose = () => { closed = true; while (waiting.length) waiting.shift()(null); };
  return () => queue.length ? Promise.resolve(queue.shift())
    : closed ? Promise.resolve(null) : new Promise((r) => waiting.push(r));
}

function showChat(direction, text) {
  const line = document.createElement("div");
  line.className = direction;
  // textContent: never interpreted as markup.
  line.textContent = `[${clock()}] ${direction === "send" ? "you" : "peer"}: ${text}`;
  $("chatlog").append(line);
  $("chatlog").scrollTop = $("chatlog").scrollHeight;
}

async function sendChat(text) {
  if (!text) return;
  if (new TextEncoder().encode(text).length > MAX_CHAT) {
    log(`a chat message carries at most ${MAX_CHAT} bytes: not sent`);
    return;
  }
  if (!chatReady) {
    chatReady = openChannel("rtccall-chat").then((dc) => {
      const next = reader(dc);
      (async () => {
        for (let m; (m = await next()) !== null;) {
          const entry = m && m.type === "chat-ack" && state.chat.find((c) => c.direction === "send" && c.id === m.id);
          if (entry) entry.acked = true;
        }
        chatReady = null;
      })();
      return dc;
    });
    chatReady.catch(() => { chatReady = null; });
  }
  const dc = await chatReady;
  const id = chatId++;
  state.chat.push({ direction: "send", id, text, acked: false });
  dc.send(JSON.stringify({ type: "chat", id, text }));
  showChat("send", text);
}

async function receiveChat(dc) {
  const next = reader(dc);
  for (let m; (m = await next()) !== null;) {
    if (!m || m.type !== "chat" || typeof m.text !== "string") continue;
    state.chat.push({ direction: "receive", id: m.id, text: m.text });
    showChat("receive", m.text);
    dc.send(JSON.stringify({ type: "chat-ack", id: m.id }));
  }
}

async function sha256hex(buf) {
  if (!crypto.subtle) throw new Error("SHA-256 needs a secure context (https or localhost)");
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/// The name a received file is offered for download under, as rtccall sanitises names.
function sanitize(name) {
  const last = String(name).split(/[\\/]/).pop().replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim();
  return last && last !== "." && last !== ".." ? last.slice(0, 200) : null;
}

function showFile(entry) {
  if (!entry.el) { entry.el = document.createElement("div"); $("files").append(entry.el); }
  const verb = entry.direction === "send" ? "sending" : "receiving";
  entry.el.textContent = entry.error ? `${entry.name}: ${entry.error}`
    : entry.verified ? `${entry.direction === "send" ? "sent" : "received"} ${entry.name} (${entry.size} bytes), SHA-256 verified `
    : `${verb} ${entry.name}: ${entry.bytes} / ${entry.size} bytes`;
  if (entry.url && !entry.el.querySelector("a")) {
    const a = document.createElement("a");
    a.href = entry.url; a.download = entry.name; a.textContent = "save";
    entry.el.append(a);
  }
}

function fileEntry(direction, name, size) {
  const entry = { direction, name, size, bytes: 0, sha256: null, verified: false, error: null };
  Object.defineProperty(entry, "el", { value: null, writable: true, enumerable: false });
  Object.defineProperty(entry, "url", { value: null, writable: true, enumerable: false });
  state.files.push(entry);
  showFile(entry);
  return entry;
}

async function sendFile(file) {
  const entry = fileEntry("send", file.name, file.size);
  try {
    const buf = await file.arrayBuffer();
    const sha256 = await sha256hex(buf);
    const dc = await openChannel("rtccall-file");
    const next = reader(dc);
    dc.send(JSON.stringify({ type: "file-offer", name: file.name, size: file.size, sha256 }));
    const reply = await next();
    if (!reply || reply.type !== "file-accept") {
      entry.error = reply && reply.type === "file-refuse" ? `refused: ${reply.reason}` : "no answer";
      dc.close();
      return;
    }
    dc.bufferedAmountLowThreshold = 1 << 20;
    for (let off = 0; off < buf.byteLength; off += CHUNK) {
      while (dc.bufferedAmount > (4 << 20)) {
        await new Promise((r) => { dc.onbufferedamountlow = r; });
      }
      dc.send(buf.slice(off, off + CHUNK));
      entry.bytes = Math.min(off + CHUNK, buf.byteLength);
      if ((off / CHUNK) % 64 === 0) showFile(entry);
    }
    dc.send(JSON.stringify({ type: "file-end" }));
    const verdict = await next();
    dc.close();
    if (verdict && verdict.type === "file-verified" && verdict.sha256 === sha256) {
      entry.verified = true;
      entry.sha256 = sha256;
    } else {
      entry.error = verdict && verdict.type === "file-failed" ? `discarded: ${verdict.reason}` : "no verdict";
    }
  } catch (e) {
    entry.error = String(e.message || e);
  } finally {
    showFile(entry);
  }
}

async function receiveFile(dc) {
  const next = reader(dc);
  const offer = await next();
  if (!offer || offer.type !== "file-offer") return;
  const name = sanitize(offer.name);
  if (!name) {
    dc.send(JSON.stringify({ type: "file-refuse", reason: "no usable file name" }));
    return;
  }
  const entry = fileEntry("receive", name, offer.size);
  dc.send(JSON.stringify({ type: "file-accept" }));
  const chunks = [];
  for (let m; (m = await next()) !== null;) {
    if (m instanceof ArrayBuffer) {
      entry.bytes += m.byteLength;
      if (entry.bytes > offer.size) { entry.error = `more than the ${offer.size} bytes offered arrived`; break; }
      chunks.push(m);
      if (chunks.length % 64 === 0) showFile(entry);
    } else if (m && m.type === "file-end") {
      const blob = new Blob(chunks);
      const got = await sha256hex(await blob.arrayBuffer());
      if (entry.bytes !== offer.size) entry.error = `${entry.bytes} of the ${offer.size} bytes offered arrived`;
      else if (got !== String(offer.sha256).toLowerCase()) entry.error = `SHA-256 mismatch: ${got} arrived`;
      if (entry.error) {
        dc.send(JSON.stringify({ type: "file-failed", reason: entry.error }));
      } else {
        entry.verified = true;
        entry.sha256 = got;
        entry.url = URL.createObjectURL(blob);
        dc.send(JSON.stringify({ type: "file-verified", sha256: got }));
      }
      showFile(entry);
      return;
    }
  }
  if (!entry.error) entry.error = "the sender stopped before the end of the file";
  if (dc.readyState === "open") dc.send(JSON.stringify({ type: "file-failed", reason: entry.error }));
  showFile(entry);
}

/// Answer a throughput test the other side runs: measure its phase, then send when asked.
async function serveThroughput(dc) {
  const next = reader(dc);
  let bytes = 0, first = null;
  for (let m; (m = await next()) !== null;) {
    if (m instanceof ArrayBuffer) {
      if (first === null) first = performance.now();
      bytes += m.byteLength;
    } else if (m && m.type === "throughput-end") {
      const ms = first === null ? 0 : performance.now() - first;
      dc.send(JSON.stringify({ type: "throughput-result", bytes, ms }));
      log(`throughput from the other side: ${(bytes * 8 / 1000 / Math.max(ms, 1)).toFixed(1)} Mbit/s`);
    } else if (m && m.type === "throughput-request" && m.secs > 0 && m.secs <= 300) {
      const payload = new Uint8Array(CHUNK).fill(0x5a);
      const until = performance.now() + m.secs * 1000;
      let sent = 0;
      dc.bufferedAmountLowThreshold = 1 << 20;
      while (performance.now() < until && dc.readyState === "open") {
        while (dc.bufferedAmount > (4 << 20)) await new Promise((r) => { dc.onbufferedamountlow = r; });
        dc.send(payload);
        sent += CHUNK;
      }
      dc.send(JSON.stringify({ type: "throughput-end", bytes: sent }));
      await next();
      dc.close();
      return;
    }
  }
}

window.rtccallData = { sendChat, sendFile };

$("chat-form").onsubmit = (e) => {
  e.preventDefault();
  const text = $("chat-text").value;
  $("chat-text").value = "";
  sendChat(text).catch((err) => log(`chat: ${err.message || err}`));
};
$("file-input").onchange = () => {
  for (const f of $("file-input").files) sendFile(f);
  $("file-input").value = "";
};
const drop = $("drop");
drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  for (const f of e.dataTransfer.files) sendFile(f);
};

$("dump").onclick = () => {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([statsDump()], { type: "application/x-ndjson" }));
  a.download = `rtccall-${$("room").value || "call"}-${isDialer ? "dial" : "answer"}.rtcstats`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
};
$("join").onclick = join;
$("hangup").onclick = hangup;
$("mute").onclick = () => setMute(!state.local.mute);
$("camera").onclick = () => setVideo(!state.local.video);
$("accept").onclick = accept;
$("reject").onclick = reject;
$("room").value = params.get("room") || "";
showLocal();
setPhase("idle");
if (params.get("autojoin") === "1" && $("room").value) join();
