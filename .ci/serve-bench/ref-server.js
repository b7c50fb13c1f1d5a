// Minimal Node.js (npm `ws`) reference server for rtccall's signaling protocol, for .ci/bench-serve.
//
// Usage: node ref-server.js --listen 127.0.0.1:PORT   (port 0 picks a free one)
// Prints `ws://ADDR/` as its first stdout line once listening, like `rtccall serve`. Speaks the
// README's "Signaling protocol": join/joined/peer-joined/peer-left, verbatim relay of
// offer/answer/candidate/reject/bye to the other member, the same error codes. Resume tokens are
// generated but seats are not kept after a connection closes (not needed for the benchmark).
'use strict';

const crypto = require('crypto');
const http = require('http');
const { WebSocketServer } = require('ws');

const MAX_MESSAGE_BYTES = 64 * 1024; // bigger text frames get `too-large`
const HARD_FRAME_LIMIT = 1024 * 1024; // bigger frames close the connection (ws maxPayload)
const CLIENT_TYPES = ['join', 'offer', 'answer', 'candidate', 'reject', 'bye'];
const ROOM_RE = /^[A-Za-z0-9._-]{1,64}$/;

function parseListen(argv) {
  const i = argv.indexOf('--listen');
  const spec = i >= 0 ? argv[i + 1] : '127.0.0.1:8787';
  const m = /^(.*):(\d+)$/.exec(spec || '');
  if (!m) {
    console.error(`ref-server: --listen wants HOST:PORT, got ${JSON.stringify(spec)}`);
    process.exit(2);
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

const error = (code, message) => JSON.stringify({ type: 'error', code, message });
const isStr = (v) => typeof v === 'string';
const optStr = (v) => v === undefined || v === null || isStr(v);

// The field checks of rtccall's serde types: a missing or mistyped field is `bad-message`.
function badFields(m) {
  switch (m.type) {
    case 'join':
      if (!isStr(m.room)) return 'missing field `room`';
      if (!(m.role === undefined || m.role === null || m.role === 'dial' || m.role === 'answer'))
        return 'role must be "dial" or "answer"';
      if (!optStr(m.resume)) return 'resume must be a string';
      return null;
    case 'offer':
    case 'answer':
      return isStr(m.sdp) ? null : 'missing field `sdp`';
    case 'candidate': {
      const i = m.sdpMLineIndex;
      if (!optStr(m.candidate) || !optStr(m.sdpMid) || !optStr(m.usernameFragment))
        return 'candidate fields must be strings';
      if (!(i === undefined || i === null || (Number.isInteger(i) && i >= 0 && i <= 65535)))
        return 'sdpMLineIndex must be an integer 0..65535';
      return null;
    }
    default: // reject, bye
      return optStr(m.reason) ? null : 'reason must be a string';
  }
}

const rooms = new Map(); // room name -> array of up to two member sockets

function other(ws) {
  const members = rooms.get(ws.room) || [];
  return members.find((m) => m !== ws);
}

function onMessage(ws, data, isBinary) {
  if (isBinary) {
    ws.send(error('bad-message', 'binary frames are not part of the protocol; send JSON text'));
    return;
  }
  if (data.length > MAX_MESSAGE_BYTES) {
    ws.send(error('too-large', `message is ${data.length} bytes; the limit is ${MAX_MESSAGE_BYTES}`));
    return;
  }
  const text = data.toString('utf8');
  let m;
  try {
    m = JSON.parse(text);
  } catch (e) {
    ws.send(error('bad-message', `message is not valid JSON: ${e.message}`));
    return;
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m) || !isStr(m.type)) {
    ws.send(error('bad-message', 'message has no string "type" field'));
    return;
  }
  if (!CLIENT_TYPES.includes(m.type)) {
    ws.send(error('unknown-type',
      `unknown message type ${JSON.stringify(m.type)}; expected one of ${CLIENT_TYPES.join(', ')}`));
    return;
  }
  const bad = badFields(m);
  if (bad) {
    ws.send(error('bad-message', `bad ${JSON.stringify(m.type)} message: ${bad}`));
    return;
  }
  if (m.type === 'join') {
    if (ws.room !== null) {
      ws.send(error('already-joined', 'this connection already joined a room'));
      return;
    }
    if (!ROOM_RE.test(m.room)) {
      ws.send(error('bad-room', `room name ${JSON.stringify(m.room)} must be 1-64 characters of A-Z a-z 0-9 . _ -`));
      return;
    }
    const members = rooms.get(m.room) || [];
    if (members.length >= 2) {
      ws.send(error('room-full', `room ${JSON.stringify(m.room)} already has two peers`));
      return;
    }
    ws.room = m.room;
    ws.role = m.role || null;
    const peer = members.length ? members[0].role || 'unknown' : null;
    for (const o of members) o.send(JSON.stringify({ type: 'peer-joined', role: ws.role }));
    members.push(ws);
    rooms.set(m.room, members);
    const resume = crypto.randomBytes(16).toString('hex');
    ws.send(JSON.stringify({ type: 'joined', room: m.room, peer, resume }));
    return;
  }
  if (ws.room === null) {
    ws.send(error('not-joined', 'send a "join" message first'));
    return;
  }
  const o = other(ws);
  if (o) o.send(text); // relayed verbatim
  else if (m.type !== 'bye') ws.send(error('no-peer', 'nobody else is in the room'));
}

function onClose(ws) {
  if (ws.room === null) return;
  const members = (rooms.get(ws.room) || []).filter((m) => m !== ws);
  for (const o of members) o.send('{"type":"peer-left"}');
  if (members.length) rooms.set(ws.room, members);
  else rooms.delete(ws.room);
  ws.room = null;
}

const { host, port } = parseListen(process.argv.slice(2));
// Plain HTTP (no upgrade) gets a one-line answer; rtccall serves its call page there.
const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? '{"status":"ok"}\n' : 'not found\n');
});
const wss = new WebSocketServer({
  server,
  maxPayload: HARD_FRAME_LIMIT,
  perMessageDeflate: false,
  clientTracking: false,
});
wss.on('connection', (ws, req) => {
  ws.room = null;
  ws.role = null;
  req.socket.setNoDelay(true);
  ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
  ws.on('close', () => onClose(ws));
  ws.on('error', () => {}); // a broken client is just closed
});
server.on('error', (e) => {
  console.error(`ref-server: cannot listen on ${host}:${port}: ${e.message}`);
  process.exit(2);
});
// Backlog 1024, as tokio's TcpListener::bind uses for rtccall.
server.listen({ host, port, backlog: 1024 }, () => {
  const a = server.address();
  const shown = a.family === 'IPv6' || a.family === 6 ? `[${a.address}]` : a.address;
  process.stdout.write(`ws://${shown}:${a.port}/\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
