#!/usr/bin/env node
// Headless Firefox ESR as a test peer of rtccall, driven by puppeteer-core over WebDriver BiDi
// (install both with `bash .ci/install-firefox`).
//
//   node tests/peers/firefox.js whip URL [options]   publish Firefox's fake camera and microphone
//        to a WHIP endpoint (http://IP:PORT/whip/ROOM) for --seconds, then DELETE the session
//   node tests/peers/firefox.js whep URL [options]   play a WHEP endpoint (http://IP:PORT/whep/ROOM)
//        for --seconds: decoded video frames and audio samples (getStats), then DELETE
//   node tests/peers/firefox.js page URL [options]   open rtccall's call page
//        (http://IP:PORT/?room=R&autojoin=1): wait until connected and video frames are decoded,
//        stay --seconds, then hang up unless the other side already has
//
// Options: --seconds N (media time after connecting, default 5), --timeout N (seconds allowed to
// connect, default 30), --min-frames N (default 10), --firefox PATH (default $FIREFOX or
// /usr/bin/firefox-esr), --chromium PATH (Chromium over CDP instead, for side-by-side figures),
// --screenshot FILE.PNG (the page, mid-call), --keep-profile,
// --pref NAME=VALUE (one more Firefox preference, or one of ours overridden; VALUE as JSON when
// it parses: true, 0, "text").
//
// Firefox offers no loopback candidates (not even with media.peerconnection.ice.loopback): run
// this inside a network namespace that has a veth address (and, as the notes advise, a default
// route through it), with the server and the terminal on that veth address. See
// tests/peers/firefox.md for the set-up.
//
// Prints one JSON line on stdout at the end ({"ok":..,"status":..,"connected_ms":..,
// "frames_decoded":..,"audio_samples":..,"error":..}); logs to stderr. Exit 0 when ok, 1 when a
// check failed, 2 on a usage error. The browser is closed in every case (its process group
// killed if it does not close).
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");

const LIB = "/usr/local/lib/rtccall-firefox/node_modules";

function loadPuppeteer() {
  try {
    return require("puppeteer-core");
  } catch (_) {
    return require(path.join(LIB, "puppeteer-core"));
  }
}

const t0 = Date.now();
function log(msg) {
  process.stderr.write(`firefox.js ${((Date.now() - t0) / 1000).toFixed(2)}s ${msg}\n`);
}

function usage(msg) {
  if (msg) process.stderr.write(`firefox.js: ${msg}\n`);
  process.stderr.write(
    "usage: node tests/peers/firefox.js whip|whep|page URL [--seconds N] [--timeout N] " +
      "[--min-frames N] [--firefox PATH] [--screenshot FILE] [--keep-profile] [--pref NAME=VALUE]\n",
  );
  process.stdout.write(JSON.stringify({ ok: false, error: msg || "usage" }) + "\n");
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    mode: argv[0],
    url: argv[1],
    seconds: 5,
    timeout: 30,
    minFrames: 10,
    firefox: process.env.FIREFOX || "/usr/bin/firefox-esr",
    chromium: null,
    screenshot: null,
    keepProfile: false,
    prefs: {},
  };
  if (!["whip", "whep", "page"].includes(o.mode)) usage(`unknown mode ${o.mode}`);
  if (!o.url) usage("no URL");
  try {
    new URL(o.url);
  } catch (_) {
    usage(`not a URL: ${o.url}`);
  }
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const num = () => {
      const n = Number(next());
      if (!Number.isFinite(n) || n < 0) usage(`${a} needs a number`);
      return n;
    };
    if (a === "--seconds") o.seconds = num();
    else if (a === "--timeout") o.timeout = num();
    else if (a === "--min-frames") o.minFrames = num();
    else if (a === "--firefox") o.firefox = next();
    else if (a === "--chromium") o.chromium = next();
    else if (a === "--screenshot") o.screenshot = next();
    else if (a === "--keep-profile") o.keepProfile = true;
    else if (a === "--pref") {
      const kv = next();
      const at = kv.indexOf("=");
      if (at < 1) usage(`--pref wants NAME=VALUE, got ${kv}`);
      const raw = kv.slice(at + 1);
      let v = raw;
      try {
        v = JSON.parse(raw);
      } catch (_) {}
      o.prefs[kv.slice(0, at)] = v;
    }
    else usage(`unknown option ${a}`);
  }
  return o;
}

// The preferences that make Firefox a test peer, and why.
function prefs(origin) {
  const host = new URL(origin).hostname;
  return {
    // Fake camera (a moving colour pattern) and microphone (a tone), no permission prompt.
    "media.navigator.streams.fake": true,
    "media.navigator.permission.disabled": true,
    // getUserMedia needs a secure context; the server is plain http on the namespace's
    // address. Treat that host as secure (a test-only pref, like Chromium's
    // --unsafely-treat-insecure-origin-as-secure).
    "dom.securecontext.allowlist": host,
    // Real host candidates (the namespace's veth address) instead of mDNS names, which
    // rtccall's terminal does not resolve (it still connects, to a peer-reflexive candidate
    // learnt from Firefox's checks; real addresses make the pairs and the logs plain).
    "media.peerconnection.ice.obfuscate_host_addresses": false,
    // Play received audio and video without a user gesture.
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "media.autoplay.block-webaudio": false,
    // Nothing else from the browser: no updates, telemetry or captive-portal checks (nftables
    // in the namespace drops it anyway).
    "app.update.enabled": false,
    "app.update.auto": false,
    "network.captive-portal-service.enabled": false,
    "network.connectivity-service.enabled": false,
    "datareporting.policy.dataSubmissionEnabled": false,
    "toolkit.telemetry.enabled": false,
    "browser.safebrowsing.malware.enabled": false,
    "browser.safebrowsing.phishing.enabled": false,
    "extensions.update.enabled": false,
  };
}

// In the page: a WHIP (send) or WHEP (receive) client. Gathers all candidates into the offer,
// POSTs it, applies the answer. Returns {status, location, error?}; window.whip keeps the state.
async function startSession(kind, endpoint, gatherMs) {
  const send = kind === "whip";
  window.whip = { t0: performance.now(), events: [] };
  const pc = new RTCPeerConnection();
  window.whipPc = pc;
  pc.onconnectionstatechange = () => {
    window.whip.events.push(`${Math.round(performance.now() - window.whip.t0)} ${pc.connectionState}`);
    if (pc.connectionState === "connected" && window.whip.connectedMs == null) {
      window.whip.connectedMs = performance.now() - window.whip.t0;
    }
  };
  if (send) {
    if (!navigator.mediaDevices) return { error: "no navigator.mediaDevices (not a secure context?)" };
    const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
    window.whip.localStream = s;
    for (const t of s.getTracks()) pc.addTransceiver(t, { direction: "sendonly" });
  } else {
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    // Sinks for the received tracks, as a player has (audio decoding wants a consumer).
    pc.ontrack = (e) => {
      const el = document.createElement(e.track.kind);
      el.autoplay = true;
      el.srcObject = new MediaStream([e.track]);
      el.muted = e.track.kind === "video";
      document.body.appendChild(el);
      el.play().catch((err) => window.whip.events.push(`play ${e.track.kind}: ${err}`));
    };
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === "complete") return r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r();
    setTimeout(r, gatherMs);
  });
  const offer = pc.localDescription.sdp;
  window.whip.candidates = offer.split(/\r?\n/).filter((l) => l.startsWith("a=candidate"));
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: offer,
  });
  window.whip.status = res.status;
  window.whip.location = res.headers.get("Location");
  const body = await res.text();
  if (res.status !== 201) return { status: res.status, error: `POST ${res.status}: ${body.slice(0, 300)}` };
  await pc.setRemoteDescription({ type: "answer", sdp: body });
  const setup = [...new Set(body.split(/\r?\n/).filter((l) => l.startsWith("a=setup:")))];
  return { status: res.status, location: window.whip.location, candidates: window.whip.candidates, setup };
}

// In the page: what the session has sent and received so far.
async function sessionStats() {
  const pc = window.whipPc;
  const out = {
    state: pc.connectionState,
    framesDecoded: 0,
    audioSamples: 0,
    audioPackets: 0,
    framesEncoded: 0,
    videoPacketsSent: 0,
    audioPacketsSent: 0,
    videoCodec: null,
    pair: null,
  };
  const st = await pc.getStats();
  const byId = new Map();
  st.forEach((r) => byId.set(r.id, r));
  st.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") {
      out.framesDecoded = r.framesDecoded || 0;
      const c = byId.get(r.codecId);
      if (c) out.videoCodec = c.mimeType;
    }
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.audioSamples = r.totalSamplesReceived || 0;
      out.audioPackets = r.packetsReceived || 0;
    }
    if (r.type === "outbound-rtp" && r.kind === "video") {
      out.framesEncoded = r.framesEncoded || 0;
      out.videoPacketsSent = r.packetsSent || 0;
      const c = byId.get(r.codecId);
      if (c) out.videoCodec = c.mimeType;
    }
    if (r.type === "outbound-rtp" && r.kind === "audio") out.audioPacketsSent = r.packetsSent || 0;
    if (r.type === "candidate-pair" && r.state === "succeeded" && (r.nominated || r.selected)) {
      const l = byId.get(r.localCandidateId);
      const rem = byId.get(r.remoteCandidateId);
      out.pair = `${l ? `${l.address}:${l.port}` : "?"} <-> ${rem ? `${rem.address}:${rem.port}` : "?"}`;
    }
  });
  return out;
}

async function endSession() {
  const res = await fetch(window.whip.location, { method: "DELETE" });
  window.whipPc.close();
  if (window.whip.localStream) window.whip.localStream.getTracks().forEach((t) => t.stop());
  return res.status;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll `fn` in the page (or, with `local`, here) every 100 ms until it returns something truthy.
async function waitFor(page, fn, arg, ms, what, local = false) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = local ? await fn(arg) : await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(100);
  }
}

async function runWhipWhep(o, page, result) {
  const origin = new URL(o.url).origin;
  await page.goto(`${origin}/`, { waitUntil: "load" });
  const secure = await page.evaluate(() => window.isSecureContext);
  log(`opened ${origin}/ (secure context: ${secure})`);
  const started = await page.evaluate(startSession, o.mode, o.url, 3000);
  result.status = started.status ?? null;
  result.location = started.location ?? null;
  if (started.error) throw new Error(started.error);
  log(`POST ${o.url}: ${started.status}, Location ${started.location}; offered ${started.candidates.length} candidate(s): ${started.candidates.join(" | ")}; answer ${started.setup.join(" ")}`);
  try {
    await waitFor(
      page,
      () => window.whipPc.connectionState === "connected" || window.whipPc.connectionState === "failed",
      null,
      o.timeout * 1000,
      "connected",
    );
  } finally {
    const w = await page.evaluate(() => ({ events: window.whip.events, connectedMs: window.whip.connectedMs }));
    log(`connection states: ${w.events.join(", ")}`);
    if (w.connectedMs != null) result.connected_ms = Math.round(w.connectedMs);
  }
  if (result.connected_ms == null) throw new Error("ICE failed");
  log(`connected ${result.connected_ms} ms after the offer was made`);

  // Media for --seconds, sampled each second.
  const end = Date.now() + o.seconds * 1000;
  let first = null;
  let s = null;
  while (Date.now() < end) {
    await sleep(Math.min(1000, Math.max(0, end - Date.now())));
    s = await page.evaluate(sessionStats);
    if (!first) first = s;
    log(`stats: ${JSON.stringify(s)}`);
  }
  s = s || (await page.evaluate(sessionStats));
  first = first || s;
  result.video_codec = s.videoCodec;
  result.pair = s.pair;
  if (o.mode === "whip") {
    result.frames_encoded = s.framesEncoded;
    result.video_packets_sent = s.videoPacketsSent;
    result.audio_packets_sent = s.audioPacketsSent;
  } else {
    result.frames_decoded = s.framesDecoded;
    result.audio_samples = s.audioSamples;
    result.audio_packets = s.audioPackets;
  }
  result.delete_status = await page.evaluate(endSession);
  log(`DELETE ${result.location}: ${result.delete_status}`);

  const problems = [];
  if (result.status !== 201) problems.push(`POST status ${result.status}`);
  if (result.delete_status !== 200) problems.push(`DELETE status ${result.delete_status}`);
  if (s.state !== "connected") problems.push(`connection ${s.state} at the end`);
  if (o.mode === "whip") {
    if (!(s.framesEncoded > o.minFrames)) problems.push(`frames encoded ${s.framesEncoded}`);
    if (!(s.audioPacketsSent > 0)) problems.push(`audio packets sent ${s.audioPacketsSent}`);
  } else {
    if (!(s.framesDecoded > o.minFrames)) problems.push(`frames decoded ${s.framesDecoded}`);
    if (!(s.audioSamples > 0)) problems.push(`audio samples ${s.audioSamples}`);
    if (o.seconds >= 2 && first !== s) {
      if (!(s.framesDecoded > first.framesDecoded)) problems.push("frames decoded not growing");
      if (!(s.audioSamples > first.audioSamples)) problems.push("audio samples not growing");
    }
  }
  if (problems.length) throw new Error(problems.join("; "));
}

async function runPage(o, page, result) {
  await page.goto(o.url, { waitUntil: "load" });
  const opened = Date.now();
  const secure = await page.evaluate(() => window.isSecureContext);
  log(`opened ${o.url} (secure context: ${secure})`);
  const phase = () => page.evaluate(() => window.rtccall && window.rtccall.phase);
  try {
    // Each phase is logged as it is seen: "phase waiting" tells a harness that the page is in
    // the room and a terminal may dial it.
    let seen = null;
    await waitFor(
      page,
      async () => {
        const p = await phase();
        if (p !== seen) log(`phase ${(seen = p)}`);
        return ["connected", "ended", "error"].includes(p);
      },
      null,
      o.timeout * 1000,
      "phase connected",
      true,
    );
  } catch (e) {
    const st = await page.evaluate(() => window.rtccall && { phase: window.rtccall.phase, error: window.rtccall.error, log: window.rtccall.log });
    log(`page state: ${JSON.stringify(st)}`);
    throw e;
  }
  const p = await phase();
  if (p !== "connected") {
    const st = await page.evaluate(() => ({ error: window.rtccall.error, ended: window.rtccall.ended, log: window.rtccall.log }));
    throw new Error(`phase ${p}: ${JSON.stringify(st)}`);
  }
  result.connected_ms = Date.now() - opened;
  log(`connected ${result.connected_ms} ms after the page loaded`);
  await waitFor(
    page,
    (min) => (window.rtccall.stats.framesDecoded || 0) > min || window.rtccall.phase !== "connected",
    o.minFrames,
    15000,
    `more than ${o.minFrames} frames decoded`,
  );
  const take = () => page.evaluate(() => ({ phase: window.rtccall.phase, ...window.rtccall.stats }));
  const first = await take();
  const end = Date.now() + o.seconds * 1000;
  let s = first;
  let shot = false;
  while (Date.now() < end && s.phase === "connected") {
    await sleep(Math.min(1000, Math.max(0, end - Date.now())));
    s = await take();
    log(`stats: ${JSON.stringify(s)}`);
    if (o.screenshot && !shot && s.phase === "connected") {
      await page.screenshot({ path: o.screenshot });
      log(`screenshot: ${o.screenshot}`);
      shot = true;
    }
  }
  result.frames_decoded = s.framesDecoded || 0;
  result.audio_samples = s.audioSamplesReceived || 0;
  result.video_codec = s.videoCodecIn || null;
  result.pair = s.pair || null;
  const problems = [];
  if (!(result.frames_decoded > o.minFrames)) problems.push(`frames decoded ${result.frames_decoded}`);
  if (!(result.audio_samples > 0)) problems.push(`audio samples ${result.audio_samples}`);
  if (s !== first && s.phase === "connected") {
    if (!((s.framesDecoded || 0) > (first.framesDecoded || 0))) problems.push("frames decoded not growing");
    if (!((s.audioSamplesReceived || 0) > (first.audioSamplesReceived || 0))) problems.push("audio samples not growing");
  }
  // Hang up unless the other side already has.
  if ((await phase()) === "connected") {
    await page.evaluate(() => document.getElementById("hangup").click());
    log("hung up");
  }
  await waitFor(page, () => window.rtccall.phase !== "connected", null, 5000, "call ended").catch(() => {});
  result.ended = await page.evaluate(() => window.rtccall.ended);
  log(`ended: ${result.ended}`);
  if (problems.length) throw new Error(problems.join("; "));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const result = {
    ok: false,
    mode: o.mode,
    url: o.url,
    firefox_start_ms: null,
    status: null,
    connected_ms: null,
    frames_decoded: null,
    audio_samples: null,
    error: null,
  };
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "rtccall-firefox-"));
  let browser = null;
  let pid = null;
  // Firefox is started in a process group of its own (puppeteer spawns it detached): kill
  // that group. While any member lives its id cannot be reused, so this reaches only ours.
  const killGroup = () => {
    if (pid) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch (_) {}
    }
  };
  const onSignal = (sig) => {
    log(`${sig}: killing Firefox`);
    killGroup();
    if (!o.keepProfile) fs.rmSync(profile, { recursive: true, force: true });
    result.error = `interrupted by ${sig}`;
    process.stdout.write(JSON.stringify(result) + "\n");
    process.exit(1);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A hard limit on the whole run, whatever hangs.
  const hardLimit = setTimeout(() => {
    log("overall time limit: killing Firefox");
    killGroup();
    if (!o.keepProfile) fs.rmSync(profile, { recursive: true, force: true });
    result.error = result.error || "overall time limit";
    process.stdout.write(JSON.stringify(result) + "\n");
    process.exit(1);
  }, (o.timeout + o.seconds + 60) * 1000);
  hardLimit.unref();

  try {
    const puppeteer = loadPuppeteer();
    const origin = new URL(o.url).origin;
    const launchedAt = Date.now();
    browser = await puppeteer.launch(o.chromium ? {
      // --chromium PATH: the same checks in Chromium (over CDP), for figures side by side.
      browser: "chrome",
      executablePath: o.chromium,
      headless: true,
      userDataDir: profile,
      args: [
        "--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
        `--unsafely-treat-insecure-origin-as-secure=${origin}`,
      ],
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      timeout: 60000,
    } : {
      browser: "firefox",
      protocol: "webDriverBiDi",
      executablePath: o.firefox,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: { ...prefs(origin), ...o.prefs },
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      timeout: 60000,
      env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: "1" },
    });
    pid = browser.process() ? browser.process().pid : null;
    result.firefox_start_ms = Date.now() - launchedAt;
    log(`${await browser.version()} started in ${result.firefox_start_ms} ms (pid ${pid}, profile ${profile})`);
    const page = (await browser.pages())[0] || (await browser.newPage());
    page.on("console", (m) => log(`console: ${m.text()}`));
    page.on("pageerror", (e) => log(`page error: ${e.message || e}`));
    if (o.mode === "page") await runPage(o, page, result);
    else await runWhipWhep(o, page, result);
    result.ok = true;
  } catch (e) {
    result.error = String((e && e.message) || e);
    log(`error: ${result.error}`);
  } finally {
    if (browser) {
      await Promise.race([browser.close().catch((e) => log(`close: ${e}`)), sleep(10000)]);
    }
    killGroup();
    if (!o.keepProfile) fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}

main();
