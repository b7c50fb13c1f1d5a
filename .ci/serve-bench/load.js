// Load generator for .ci/bench-serve: N WebSocket clients joined in pairs, join and relay latency.
//
// Usage: node load.js --url ws://127.0.0.1:PORT/ --connections N [--workers W] [--concurrency 200]
//          [--relay 1000] [--settle 2] [--source-base 127.0.0.2] [--timeout 300] [--hold]
//
// Opens N connections (N even) split over W worker processes (each owns a slice of the N/2
// rooms, so both peers of a room are on the same worker, and binds its sockets to its own
// loopback source address, base + worker index, so no source address runs out of ephemeral
// ports). Each room: both sockets open, the first joins with role dial, then the second with
// role answer; join latency is join sent -> joined received, for every connection. At most
// --concurrency connections are being opened/joined at once. Once all N are joined it waits
// --settle seconds and prints {"type":"ready",...}; with --hold it then waits for a line on
// stdin (the driver reads the server's RSS meanwhile). Then --relay candidate messages, one at
// a time, each in another sampled room, dial -> answer, are timed from send to receipt. Prints
// {"type":"result",...} with p50/p99/max in ms; with --hold it then waits for stdin to close
// (the driver stops the server first) before exiting. Any failure prints {"type":"error",...}
// and exits 1. Only stdout lines are JSON; diagnostics go to stderr.
'use strict';

const { fork } = require('child_process');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');

const CANDIDATE = {
  type: 'candidate',
  candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host',
  sdpMid: '0',
  sdpMLineIndex: 0,
};

// ---------------------------------------------------------------------------------------------
// Shared helpers

function parseArgs(argv) {
  const o = {
    url: null, connections: 0, workers: 0, concurrency: 200, relay: 1000, joinSample: 500, settle: 2,
    sourceBase: '127.0.0.2', timeout: 300, opTimeout: 15, hold: false, worker: false,
  };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) die(`${name} wants a number, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--url': o.url = v(); break;
      case '--connections': o.connections = num(a, v()); break;
      case '--workers': o.workers = num(a, v()); break;
      case '--concurrency': o.concurrency = num(a, v()); break;
      case '--relay': o.relay = num(a, v()); break;
      case '--join-sample': o.joinSample = num(a, v()); break;
      case '--settle': o.settle = num(a, v()); break;
      case '--source-base': o.sourceBase = v(); break;
      case '--timeout': o.timeout = num(a, v()); break;
      case '--op-timeout': o.opTimeout = num(a, v()); break;
      case '--hold': o.hold = true; break;
      case '--worker': o.worker = true; break;
      default: die(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  return o;
}

function die(message) {
  process.stdout.write(JSON.stringify({ type: 'error', error: message }) + '\n');
  process.exit(1);
}

/** p-th percentile (0..100) with linear interpolation between closest ranks. */
function pct(sorted, p) {
  if (!sorted.length) return null;
  const k = ((sorted.length - 1) * p) / 100;
  const f = Math.floor(k);
  const c = Math.min(f + 1, sorted.length - 1);
  return sorted[f] + (sorted[c] - sorted[f]) * (k - f);
}

function stats(values) {
  const s = Float64Array.from(values).sort();
  const r = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  return { n: s.length, p50: r(pct(s, 50)), p99: r(pct(s, 99)), max: r(s.length ? s[s.length - 1] : null) };
}

/** `a.b.c.d` plus i in the last octet (127.0.0.2 + 3 = 127.0.0.5). */
function addAddress(base, i) {
  const p = base.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255) || p[0] !== 127)
    die(`--source-base must be a 127.x.y.z address, got ${JSON.stringify(base)}`);
  const last = p[3] + i;
  if (last > 254) die(`--source-base ${base} leaves no room for ${i + 1} workers`);
  return `${p[0]}.${p[1]}.${p[2]}.${last}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Worker: owns rooms [first, first + count) and their 2 * count connections.

function worker() {
  let job = null; // the 'join' command
  let closing = false;
  const pairs = []; // [dial, answer] sockets of every joined room
  let joined = 0;

  const fail = (error) => {
    if (closing) return;
    closing = true;
    process.send({ type: 'fail', error: String(error) }, () => process.exit(1));
  };

  /** Open one socket; resolves once the handshake is done. Messages queue on ws.inbox. */
  function open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(job.url, {
        localAddress: job.localAddress,
        perMessageDeflate: false,
        handshakeTimeout: job.opTimeout * 1000,
      });
      ws.inbox = [];
      ws.waiters = [];
      ws.on('open', () => {
        ws.opened = true;
        resolve(ws);
      });
      ws.on('message', (data) => {
        const w = ws.waiters.shift();
        if (w) w(data.toString());
        else ws.inbox.push(data.toString());
      });
      ws.on('error', (e) => {
        if (!ws.opened) reject(new Error(`connect from ${job.localAddress}: ${e.message}`));
      });
      ws.on('close', (code) => {
        if (!ws.opened) reject(new Error(`connect from ${job.localAddress}: closed (${code})`));
        else fail(`server closed a connection${ws.room ? ` in room ${ws.room}` : ''} (code ${code})`);
      });
    });
  }

  /** The next message on ws, parsed; rejects after the op timeout. */
  function next(ws, what) {
    if (ws.inbox.length) return Promise.resolve(JSON.parse(ws.inbox.shift()));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        ws.waiters.splice(ws.waiters.indexOf(deliver), 1);
        reject(new Error(`no ${what} within ${job.opTimeout} s in room ${ws.room}`));
      }, job.opTimeout * 1000);
      const deliver = (text) => {
        clearTimeout(t);
        resolve(JSON.parse(text));
      };
      ws.waiters.push(deliver);
    });
  }

  function expect(m, type, check, room, who) {
    if (m.type !== type || (check && !check(m)))
      throw new Error(`${who} in room ${room}: expected ${type}, got ${JSON.stringify(m)}`);
  }

  async function joinPair(k, lat) {
    const room = `${job.prefix}-${k}`;
    const [d, a] = await Promise.all([open(), open()]);
    d.room = a.room = room;
    let t = performance.now();
    d.send(JSON.stringify({ type: 'join', room, role: 'dial' }));
    expect(await next(d, 'joined'), 'joined', (m) => m.peer === null, room, 'dial');
    lat.push(performance.now() - t);
    t = performance.now();
    a.send(JSON.stringify({ type: 'join', room, role: 'answer' }));
    expect(await next(a, 'joined'), 'joined', (m) => m.peer === 'dial', room, 'answer');
    lat.push(performance.now() - t);
    expect(await next(d, 'peer-joined'), 'peer-joined', (m) => m.role === 'answer', room, 'dial');
    pairs.push([d, a]);
    joined += 2;
  }

  async function joinAll() {
    const lat = [];
    let nextRoom = job.first;
    const end = job.first + job.count;
    const runner = async () => {
      while (nextRoom < end) await joinPair(nextRoom++, lat);
    };
    const t0 = performance.now();
    const progress = setInterval(() => process.send({ type: 'progress', joined }), 1000);
    try {
      await Promise.all(Array.from({ length: Math.min(job.pairsInFlight, job.count) }, runner));
    } finally {
      clearInterval(progress);
    }
    process.send({ type: 'joined', lat, seconds: (performance.now() - t0) / 1000 });
  }

  /** count relayed candidates, one at a time, each in another room spread over the slice. */
  async function relay(count) {
    const lat = [];
    for (let i = 0; i < count; i++) {
      const [d, a] = pairs[Math.floor((i * pairs.length) / count) % pairs.length];
      const seq = `seq${i}`;
      const got = next(a, 'relayed candidate');
      const t = performance.now();
      d.send(JSON.stringify({ ...CANDIDATE, usernameFragment: seq }));
      const m = await got;
      lat.push(performance.now() - t);
      expect(m, 'candidate', (x) => x.usernameFragment === seq && x.candidate === CANDIDATE.candidate,
        d.room, 'answer');
    }
    process.send({ type: 'relayed', lat });
  }

  process.on('message', (msg) => {
    if (msg.cmd === 'join') {
      job = msg;
      joinAll().catch(fail);
    } else if (msg.cmd === 'relay') {
      relay(msg.count).catch(fail);
    } else if (msg.cmd === 'exit') {
      closing = true;
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0)); // the parent went
}

// ---------------------------------------------------------------------------------------------
// Parent: forks the workers, hands out rooms, gathers and prints the figures.

async function main(o) {
  if (!o.url || !/^wss?:\/\//.test(o.url)) die('--url ws://HOST:PORT/ is required');
  const n = o.connections;
  if (!Number.isInteger(n) || n < 2 || n % 2) die('--connections must be an even number >= 2');
  const rooms = n / 2;
  const w = Math.min(rooms, o.workers || Math.ceil(n / 5000));
  const pairsInFlight = Math.max(1, Math.floor(o.concurrency / 2 / w));
  const prefix = `b${process.pid.toString(36)}${Date.now().toString(36)}`;
  const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

  const workers = [];
  let done = false;
  const abort = (error) => {
    if (done) return;
    done = true;
    for (const c of workers) c.kill('SIGKILL');
    die(error);
  };

  // One pending reply per worker at a time: request(c, cmd, replyType) resolves with it.
  const pending = new Map();
  const request = (c, msg, type) =>
    new Promise((resolve) => {
      pending.set(c, { type, resolve });
      c.send(msg);
    });

  const progress = new Array(w).fill(0);
  for (let i = 0; i < w; i++) {
    // Workers' stdout goes to our stderr: our stdout carries only the JSON lines.
    const c = fork(__filename, ['--worker'], { stdio: ['ignore', 2, 2, 'ipc'] });
    c.on('message', (m) => {
      if (m.type === 'fail') abort(`worker ${i}: ${m.error}`);
      else if (m.type === 'progress') progress[i] = m.joined;
      else {
        const p = pending.get(c);
        if (p && p.type === m.type) {
          pending.delete(c);
          p.resolve(m);
        }
      }
    });
    c.on('exit', (code, sig) => {
      if (!done) abort(`worker ${i} exited (${sig || code})`);
    });
    workers.push(c);
  }

  // Join phase, with one deadline for all of it.
  const joinedCount = () => progress.reduce((a, b) => a + b, 0);
  const deadline = setTimeout(
    () => abort(`join phase timed out after ${o.timeout} s: ${joinedCount()} of ${n} joined`),
    o.timeout * 1000);
  const t0 = performance.now();
  const base = Math.floor(rooms / w);
  let first = 0;
  const replies = await Promise.all(workers.map((c, i) => {
    const count = base + (i < rooms % w ? 1 : 0);
    const msg = {
      cmd: 'join', url: o.url, prefix, first, count, pairsInFlight,
      localAddress: addAddress(o.sourceBase, i), opTimeout: o.opTimeout,
    };
    first += count;
    return request(c, msg, 'joined');
  }));
  clearTimeout(deadline);
  const openSeconds = (performance.now() - t0) / 1000;
  const joinLat = replies.flatMap((r) => r.lat);

  await sleep(o.settle * 1000);
  out({ type: 'ready', connections: n, rooms, workers: w, open_s: Math.round(openSeconds * 100) / 100 });
  if (o.hold) await stdinLine(60, 'a go-ahead line');

  // Relay phase: workers one after another, so exactly one message is in flight.
  const relayLat = [];
  const relayDeadline = setTimeout(() => abort('relay phase timed out after 120 s'), 120 * 1000);
  for (let i = 0; i < w; i++) {
    const count = Math.floor(o.relay / w) + (i < o.relay % w ? 1 : 0);
    if (count) relayLat.push(...(await request(workers[i], { cmd: 'relay', count }, 'relayed')).lat);
  }
  clearTimeout(relayDeadline);

  // Join phase at load: with all N held, --join-sample more rooms are joined one at a time
  // (both peers, each join timed alone) and left again, so the figure is the server's own
  // latency rather than the queue of the fill phase above.
  const loadedJoinLat = [];
  const sampleDeadline = setTimeout(() => abort('join sample timed out after 120 s'), 120 * 1000);
  const sampleAddress = addAddress(o.sourceBase, w);
  const openOne = () => new Promise((resolve, reject) => {
    const ws = new WebSocket(o.url, { localAddress: sampleAddress, perMessageDeflate: false });
    ws.on('error', () => {});
    ws.once('open', () => resolve(ws));
    ws.once('error', (e) => reject(new Error(`join sample: ${e.message}`)));
  });
  const timedJoin = (ws, room, role) => new Promise((resolve, reject) => {
    const t = performance.now();
    ws.once('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type !== 'joined') reject(new Error(`join sample: got ${d}`));
      else resolve(performance.now() - t);
    });
    ws.send(JSON.stringify({ type: 'join', room, role }));
  });
  const closed = (ws) => new Promise((resolve) => { ws.once('close', resolve); ws.close(); });
  try {
    for (let i = 0; i < o.joinSample; i++) {
      const room = `${prefix}-s${i}`;
      const [a, b] = [await openOne(), await openOne()];
      loadedJoinLat.push(await timedJoin(a, room, 'dial'));
      b.on('error', () => {});
      loadedJoinLat.push(await timedJoin(b, room, 'answer'));
      await Promise.all([closed(a), closed(b)]);
    }
  } catch (e) {
    abort(e.message);
  }
  clearTimeout(sampleDeadline);

  out({
    type: 'result', connections: n, rooms, workers: w,
    open_s: Math.round(openSeconds * 100) / 100,
    join_ms: stats(loadedJoinLat), fill_join_ms: stats(joinLat), relay_ms: stats(relayLat),
  });
  done = true; // from here on connections closing (the driver stops the server) is expected
  if (o.hold) await stdinLine(120, 'end of input', true);
  for (const c of workers) c.kill('SIGKILL');
  process.exit(0);
}

/** Wait for one line (or, with eofOk, the end) on stdin, at most `seconds`. */
function stdinLine(seconds, what, eofOk = false) {
  return new Promise((resolve) => {
    const t = setTimeout(() => die(`no ${what} on stdin within ${seconds} s`), seconds * 1000);
    const finish = () => {
      clearTimeout(t);
      process.stdin.removeListener('data', onData);
      process.stdin.removeListener('end', onEnd);
      process.stdin.pause();
      resolve();
    };
    const onData = (d) => { if (d.includes('\n')) finish(); };
    const onEnd = () => (eofOk ? finish() : die(`stdin closed while waiting for ${what}`));
    process.stdin.on('data', onData);
    process.stdin.on('end', onEnd);
    process.stdin.resume();
  });
}

const opts = parseArgs(process.argv.slice(2));
if (opts.worker) worker();
else main(opts).catch((e) => die(e.stack || String(e)));
