// node-turn (the npm TURN server, 0.0.6: bash .ci/install-deps puts it in
// /usr/local/lib/rtccall-node) on 127.0.0.1:PORT, long-term credentials test:secret in realm
// rtccall.test, relaying on 127.0.0.1 with ports MIN-MAX. A foreign relay for the probe's tests:
// it relays Send indications but not ChannelData from clients, and drops an allocation on
// every Refresh.
//
//   NODE_PATH=/usr/local/lib/rtccall-node/node_modules node tests/peers/node-turn.js PORT MIN MAX
const Turn = require('node-turn');
const [port, min, max] = process.argv.slice(2).map((a) => parseInt(a, 10));
const server = new Turn({
  listeningPort: port,
  listeningIps: ['127.0.0.1'],
  relayIps: ['127.0.0.1'],
  minPort: min,
  maxPort: max,
  authMech: 'long-term',
  credentials: { test: 'secret' },
  realm: 'rtccall.test',
  debugLevel: 'OFF',
});
server.start();
process.on('SIGTERM', () => process.exit(0));
