/**
 * The gRPC floor: a bare grpc-js server with Engram's service definition and codecs whose
 * CreateWorkUnit answers at once, storing nothing. Run by write.bench.ts so that Engram's
 * gRPC write latency can be read against what grpc-js and HTTP/2 alone cost on the same
 * machine with the same client. Prints its port.
 */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { engram } from '../src/generated/engram.js';
import { ENGRAM_SERVICE } from '../src/wire/grpc-service.js';

import pb = engram.v3;

const server = new Server({ 'grpc.enable_channelz': 0 });
let seq = 0;
server.addService(
  { createWorkUnit: ENGRAM_SERVICE.createWorkUnit },
  {
    createWorkUnit: (call: ServerUnaryCall<pb.CreateWorkUnitRequest, pb.ICreateWorkUnitResponse>, done: sendUnaryData<pb.ICreateWorkUnitResponse>) =>
      done(null, { workUnit: { id: `floor-${++seq}`, contextId: call.request.contextId, seq, agentId: call.request.agentId } }),
  },
);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) process.exit(1);
  process.stdout.write(`${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
