#!/usr/bin/env node
// internals-dump.js - make a REAL chrome://webrtc-internals dump with Chromium.
//
// Usage: node tests/peers/internals-dump.js OUT.json [SECONDS]   (default 4)
//
// Launches headless Chromium (puppeteer-core), opens chrome://webrtc-internals
// first so it records from the start, then in a second tab (served from
// 127.0.0.1) runs a loopback call: two RTCPeerConnections, no STUN, fake
// getUserMedia audio+video on the caller, a data channel. After SECONDS it
// clicks the page's own "Download the webrtc-internals dump" button with the
// compression checkbox cleared, catches the Blob handed to URL.createObjectURL
// and writes its text (Chromium's own JSON.stringify(dump, null, 1)) to OUT.
// Exit 0 on success; on failure one line on stderr and exit 1.
'use strict';
const fs = require('fs');
const http = require('http');
const puppeteer = require('/usr/local/lib/rtccall-firefox/node_modules/puppeteer-core');

const out = process.argv[2];
const seconds = Number(process.argv[3] || 4);
const TIMEOUT_MS = 60000 + seconds * 1000;

function fail(msg) {
  process.stderr.write(`internals-dump: ${String(msg).split('\n')[0]}\n`);
  process.exit(1);
}
if (!out || !(seconds > 0)) fail('usage: node internals-dump.js OUT.json [SECONDS]');

const sleep = ms => new Promise(r => setTimeout(r, ms));

// Runs inside the call tab: a loopback call between two peer connections.
async function startCall() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
  for (const t of stream.getTracks()) a.addTrack(t, stream);
  const dc = a.createDataChannel('chat');
  b.ondatachannel = e => { e.channel.onmessage = m => e.channel.send('echo ' + m.data); };
  dc.onopen = () => { window.dcTimer = setInterval(() => dc.send('ping ' + Date.now()), 250); };
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  window.pcs = [a, b]; // keep alive: closing/GC removes them from internals
  const t0 = Date.now();
  while (a.connectionState !== 'connected' || b.connectionState !== 'connected') {
    if (Date.now() - t0 > 15000) throw new Error('call did not connect: ' + a.connectionState);
    await new Promise(r => setTimeout(r, 50));
  }
  return true;
}

// Runs inside chrome://webrtc-internals: trigger the page's own dump code.
async function grabDump() {
  const checkbox = document.getElementById('dump-checkbox');
  const button = document.getElementById('dump-click-target');
  if (!checkbox || !button) throw new Error('dump button not found in webrtc-internals');
  checkbox.checked = false; // plain .txt Blob instead of gzip
  const origCreate = URL.createObjectURL;
  const origClick = HTMLAnchorElement.prototype.click;
  try {
    const blob = await new Promise((resolve, reject) => {
      URL.createObjectURL = b => { resolve(b); return 'blob:captured'; };
      HTMLAnchorElement.prototype.click = function () {}; // no real download
      setTimeout(() => reject(new Error('dump Blob never created')), 10000);
      button.click();
    });
    return await blob.text();
  } finally {
    URL.createObjectURL = origCreate;
    HTMLAnchorElement.prototype.click = origClick;
  }
}

// Waits until internals has recorded stats series for every peer connection.
async function statsReady(n) {
  const store = window.peerConnectionDataStore || {};
  const recs = Object.values(store).map(r => r.toJSON());
  return recs.length >= n && recs.every(r =>
    Object.keys(r.stats).some(k => k.endsWith('-bytesSent') || k.endsWith('-bytesReceived')));
}

let browser, server;
async function main() {
  try {
    // getUserMedia needs a secure context: serve the call page from loopback.
    server = http.createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>loopback call</title>');
    });
    await new Promise(r => server.listen(0, '127.0.0.1', r));
    browser = await puppeteer.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu',
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    });
    const internals = await browser.newPage();
    await internals.goto('chrome://webrtc-internals', { waitUntil: 'load' });
    await internals.waitForFunction(() => !!window.peerConnectionDataStore, { timeout: 10000 });

    const call = await browser.newPage();
    await call.goto(`http://127.0.0.1:${server.address().port}/call.html`);
    await call.evaluate(startCall);
    await sleep(seconds * 1000);
    // Stats are pushed to internals about once per second; make sure they landed.
    await internals.waitForFunction(statsReady, { timeout: 10000, polling: 200 }, 2);

    const text = await internals.evaluate(grabDump);
    const dump = JSON.parse(text); // sanity check
    const pcs = Object.keys(dump.PeerConnections || {});
    if (pcs.length < 2) throw new Error(`expected 2 PeerConnections, got ${pcs.length}`);
    fs.writeFileSync(out, text);
    await call.evaluate(() => clearInterval(window.dcTimer));
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) server.close();
  }
}

const timer = setTimeout(async () => {
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  fail(`timed out after ${TIMEOUT_MS / 1000}s`);
}, TIMEOUT_MS);
main().then(() => { clearTimeout(timer); process.exit(0); }, e => fail(e && e.message || e));
