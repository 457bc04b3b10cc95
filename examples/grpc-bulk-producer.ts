/**
 * A high-throughput producer over gRPC: streams units into Engram on one bidirectional
 * stream and reads back one ack per unit, in order, with its seq.
 *
 *   make run                                         # in one terminal
 *   node dist/examples/grpc-bulk-producer.js [count]  # in another (ENGRAM_GRPC overrides the address)
 */
import { GrpcEngramClient, type NewWorkUnit } from 'engram';

const address = process.env.ENGRAM_GRPC ?? '127.0.0.1:9090';
const count = Number(process.argv[2] ?? 10_000);
const run = Date.now();
const engram = new GrpcEngramClient(address);

function* toolResults(): Generator<NewWorkUnit> {
  for (let i = 0; i < count; i++) {
    yield {
      contextId: `example/bulk/${run}/worker-${i % 4}`,
      agentId: `worker-${i % 4}`,
      type: 'TOOL_RESULT',
      payload: { step: i, output: `result of step ${i}` },
      idempotencyKey: `step-${i}`, // re-running after a failure cannot write a step twice
    };
  }
}

const started = performance.now();
let acked = 0;
let refused = 0;
let lastSeq = 0;
for await (const ack of engram.writeStream(toolResults())) {
  if (ack.index !== acked + refused) throw new Error(`ack ${ack.index} out of order`);
  if (ack.error) refused++;
  else {
    acked++;
    lastSeq = Math.max(lastSeq, ack.seq ?? 0);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(`wrote ${acked} units (${refused} refused) in ${seconds.toFixed(2)} s: ${Math.round(acked / seconds)} units/s; highest seq ${lastSeq}`);
const ctx = await engram.getContext(`example/bulk/${run}/worker-0`);
console.log(`context worker-0 has head seq ${ctx.headSeq}`);
engram.close();
