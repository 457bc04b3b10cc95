/**
 * The fan-out floor: a bare uWebSockets.js server with no storage, no router and no
 * JSON, that publishes each POSTed body to every WebSocket on its topic with uWS's
 * native publish. Run by fanout.bench.ts so that Engram's fan-out can be read
 * against what the transport alone costs on the same machine. Prints its port.
 */
import uWS from 'uWebSockets.js';

const app = uWS.App();
app.ws('/stream', {
  maxBackpressure: 64 * 1024 * 1024,
  open: (ws) => {
    ws.subscribe('fan');
    ws.send('{"event":"subscribed"}');
  },
});
app.post('/workunit', (res) => {
  let body = Buffer.alloc(0);
  res.onAborted(() => undefined);
  res.onData((chunk, last) => {
    body = Buffer.concat([body, Buffer.from(chunk)]);
    if (!last) return;
    app.publish('fan', body);
    res.writeStatus('201 Created').end('{}');
  });
});
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) process.exit(1);
  process.stdout.write(`${uWS.us_socket_local_port(socket)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
