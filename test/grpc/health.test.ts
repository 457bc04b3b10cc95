/** The standard services beside EngramService: grpc.health.v1.Health and server reflection. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { status, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { healthClient, reflectionClient, rejectsWith, unaryCall, type Msg } from '../helpers/grpc.js';
import { serverPerFile } from '../helpers/server.js';
import { WAIT_MS, withTimeout } from '../helpers/wait.js';

const env = serverPerFile();

test('Health/Check: SERVING for the server and for engram.v3.EngramService once storage is ready', async () => {
  const health = healthClient(env.server.grpcAddr);
  try {
    for (const service of ['', 'engram.v3.EngramService']) {
      const r = await unaryCall(health, 'Check', { service }).response;
      assert.equal(r.status, 'SERVING', `service ${JSON.stringify(service)}`);
    }
    await rejectsWith(unaryCall(health, 'Check', { service: 'no.such.Service' }).response, status.NOT_FOUND);
  } finally {
    health.close();
  }
});

/** One request on a ServerReflectionInfo stream and its answer. */
async function reflect(client: Client, request: Msg): Promise<Msg> {
  const stream = (client as unknown as { ServerReflectionInfo(): ClientDuplexStream<Msg, Msg> }).ServerReflectionInfo();
  const answer = new Promise<Msg>((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
  stream.write(request);
  try {
    return await withTimeout(answer, WAIT_MS, 'a reflection answer');
  } finally {
    stream.end();
  }
}

interface FileDescriptor {
  name: string;
  package: string;
  service: Array<{ name: string; method: Array<{ name: string; clientStreaming?: boolean; serverStreaming?: boolean }> }>;
}
const { FileDescriptorProto } = createRequire(import.meta.url)('protobufjs/ext/descriptor') as { FileDescriptorProto: { decode(b: Uint8Array): FileDescriptor } };

test('reflection lists engram.v3.EngramService and describes every RPC', async () => {
  const client = reflectionClient(env.server.grpcAddr);
  try {
    const listed = await reflect(client, { listServices: '' });
    assert.equal(listed.messageResponse, 'listServicesResponse', JSON.stringify(listed));
    const names = listed.listServicesResponse.service.map((s: Msg) => s.name);
    assert.ok(names.includes('engram.v3.EngramService'), names.join(', '));

    const file = await reflect(client, { fileContainingSymbol: 'engram.v3.EngramService' });
    assert.equal(file.messageResponse, 'fileDescriptorResponse', JSON.stringify(file));
    const files = (file.fileDescriptorResponse.fileDescriptorProto as Buffer[]).map((b) => FileDescriptorProto.decode(b));
    const engram = files.find((f) => f.package === 'engram.v3');
    assert.ok(engram, files.map((f) => f.name).join(', '));
    const service = engram.service.find((s) => s.name === 'EngramService')!;
    const rpcs = service.method.map((m) => `${m.clientStreaming ? 'stream ' : ''}${m.name}${m.serverStreaming ? ' stream' : ''}`);
    assert.deepEqual(rpcs.sort(), [
      'AcquireLock',
      'CreateWorkUnit',
      'DeleteContext',
      'ForkContext',
      'GetContext',
      'GetLock',
      'GetPresence',
      'GetWindow',
      'GetWorkUnit',
      'ListContexts',
      'ListForks',
      'ListWorkUnits',
      'ReleaseLock',
      'RenewLock',
      'Search',
      'Subscribe stream',
      'UpdateContext',
      'stream CreateWorkUnits stream',
    ]);
    assert.ok(
      files.some((f) => f.package === 'google.protobuf'),
      'the Timestamp type comes along',
    );
  } finally {
    client.close();
  }
});
