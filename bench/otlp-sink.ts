/**
 * An OTLP/HTTP receiver for the tracing benchmark: takes every POST to /v1/traces, counts the
 * spans in it and answers 200 at once, as a collector on the same machine would. GET /count says
 * how many spans arrived. Its own process, so receiving costs neither the server nor the load
 * generator measured. Prints its port.
 */
import { createServer } from 'node:http';

let spans = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.end(String(spans));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    // OTLP JSON: every span has exactly one "spanId" key (links and parents use other names).
    spans += Buffer.concat(chunks).toString().split('"spanId"').length - 1;
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => process.exit(0));
