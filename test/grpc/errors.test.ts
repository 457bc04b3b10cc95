/**
 * Engram errors on the gRPC wire: the canonical status of the error catalog, the stable code in
 * the `engram-error-code` trailer and its details in `engram-error-details`, for each status used.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ERROR_CATALOG } from '../../src/basics/errors.js';
import { EngramGrpc, grpcServerPerFile, rejectsWith, trailer, unitRequest } from '../helpers/grpc.js';
import { removeDir, startServer } from '../helpers/server.js';

const env = grpcServerPerFile();

describe('status mapping', () => {
  test('INVALID_ARGUMENT: missing type, an unknown enum number, payload.json that is not JSON, bad ids', async () => {
    const g = env.grpc;
    const missing = await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { type: 'WORK_UNIT_TYPE_UNSPECIFIED' })), status.INVALID_ARGUMENT, 'MISSING_FIELD');
    assert.match(missing.details, /type/);
    assert.equal(trailer(missing, 'engram-error-details'), undefined, 'no details trailer when the error has none');
    const unknown = await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { type: 99 })), status.INVALID_ARGUMENT, 'INVALID_FIELD');
    assert.match(unknown.details, /99/);
    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { relationships: [{ targetId: 'x', type: 42 }] })), status.INVALID_ARGUMENT, 'INVALID_FIELD');
    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { payload: { json: '{"unterminated": ' } })), status.INVALID_ARGUMENT, 'MALFORMED_JSON');
    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { payload: { json: '' } })), status.INVALID_ARGUMENT, 'MALFORMED_JSON');
    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { payload: undefined })), status.INVALID_ARGUMENT, 'MISSING_FIELD');
    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { agentId: '' })), status.INVALID_ARGUMENT, 'MISSING_FIELD');
    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/a', { agentId: 'tab\there' })), status.INVALID_ARGUMENT, 'INVALID_ID');
    await rejectsWith(g.Search({ query: 'x', mode: 7 }), status.INVALID_ARGUMENT, 'INVALID_FIELD');
    // None of these stored anything.
    await rejectsWith(g.GetContext({ contextId: 'errors/a' }), status.NOT_FOUND, 'CONTEXT_NOT_FOUND');
  });

  test('NOT_FOUND, ABORTED, FAILED_PRECONDITION, PERMISSION_DENIED', async () => {
    const g = env.grpc;
    await rejectsWith(g.GetWorkUnit({ id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }), status.NOT_FOUND, 'WORKUNIT_NOT_FOUND');
    await rejectsWith(g.GetContext({ contextId: 'errors/none' }), status.NOT_FOUND, 'CONTEXT_NOT_FOUND');
    await rejectsWith(g.GetLock({ resource: 'errors/free' }), status.NOT_FOUND, 'LOCK_NOT_HELD');

    const [lock] = (await g.AcquireLock({ resources: ['errors/r'], agentId: 'owner' })).locks;
    const held = await rejectsWith(g.AcquireLock({ resources: ['errors/r'], agentId: 'intruder' }), status.ABORTED, 'LOCK_HELD');
    assert.equal(JSON.parse(trailer(held, 'engram-error-details')!).holder, 'owner');
    const ctx = await g.UpdateContext({ contextId: 'errors/ctx', displayName: 'v1' });
    await rejectsWith(g.UpdateContext({ contextId: 'errors/ctx', displayName: 'v2', ifVersion: ctx.version + 5 }), status.ABORTED, 'VERSION_MISMATCH');

    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/f', { fence: { resource: 'errors/r', token: lock.token + 1 } })), status.FAILED_PRECONDITION, 'FENCE_REJECTED');
    await rejectsWith(g.CreateWorkUnit(unitRequest('errors/f', { fence: { resource: 'errors/unlocked', token: 1 } })), status.FAILED_PRECONDITION, 'FENCE_REJECTED');

    await rejectsWith(g.ReleaseLock({ resource: 'errors/r', agentId: 'intruder', lockId: lock.lockId }), status.PERMISSION_DENIED, 'NOT_LOCK_HOLDER');
    await g.ReleaseLock({ resource: 'errors/r', agentId: 'owner', lockId: lock.lockId });
  });

  test('every status the catalog names is a gRPC status', () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOG)) {
      assert.equal(typeof status[spec.grpc], 'number', `${code} → ${spec.grpc}`);
    }
  });
});

describe('RESOURCE_EXHAUSTED', () => {
  test('a unit larger than limits.maxUnitBytes is PAYLOAD_TOO_LARGE and nothing is stored', async () => {
    const server = await startServer({ args: ['--max-unit-bytes', '4096'] });
    const g = new EngramGrpc(server.grpcAddr);
    try {
      const small = await g.CreateWorkUnit(unitRequest('big/ctx', { payload: { json: JSON.stringify('x'.repeat(1000)) } }));
      assert.equal(small.workUnit.seq, 1);
      const tooLarge = await rejectsWith(
        g.CreateWorkUnit(unitRequest('big/ctx', { payload: { json: JSON.stringify('x'.repeat(10 * 1024)) } })),
        status.RESOURCE_EXHAUSTED,
        'PAYLOAD_TOO_LARGE',
      );
      assert.match(tooLarge.details, /4096/);
      await rejectsWith(
        g.CreateWorkUnit(unitRequest('big/binary', { payload: { binary: { data: Buffer.alloc(10 * 1024, 7), contentType: 'application/octet-stream' } } })),
        status.RESOURCE_EXHAUSTED,
        'PAYLOAD_TOO_LARGE',
      );
      // Far beyond the limit, grpc-js itself refuses the message (no engram code then).
      await rejectsWith(g.CreateWorkUnit(unitRequest('big/ctx', { payload: { json: JSON.stringify('x'.repeat(1024 * 1024)) } })), status.RESOURCE_EXHAUSTED);
      assert.equal((await g.GetContext({ contextId: 'big/ctx' })).headSeq, 1, 'nothing of the refused units was stored');
      await rejectsWith(g.GetContext({ contextId: 'big/binary' }), status.NOT_FOUND, 'CONTEXT_NOT_FOUND');
      // The server goes on serving.
      assert.equal((await g.CreateWorkUnit(unitRequest('big/ctx'))).workUnit.seq, 2);
    } finally {
      g.close();
      assert.equal(await server.stop(), 0);
      removeDir(server.dataDir);
    }
  });
});

describe('hostile values found by the fuzzer (test/reliability/fuzz.test.ts)', () => {
  test('a lock held on a resource named in Unicode: LOCK_HELD with its details, and the server stays up', async () => {
    // The details trailer once carried the raw JSON; grpc-js throws on a metadata value that is
    // not printable ASCII, outside the call, and the server process exited.
    const g = env.grpc;
    const resource = 'fuzz/🙂/ü';
    await g.AcquireLock({ resources: [resource], agentId: 'owner' });
    const held = await rejectsWith(g.AcquireLock({ resources: [resource], agentId: 'intruder' }), status.ABORTED, 'LOCK_HELD');
    assert.match(trailer(held, 'engram-error-details')!, /^[ -~]*$/, 'printable ASCII');
    const details = JSON.parse(trailer(held, 'engram-error-details')!);
    assert.equal(details.resource, resource);
    assert.equal(details.holder, 'owner');
    assert.equal((await g.GetLock({ resource })).agentId, 'owner', 'the server still answers');
  });

  test('a request that does not decode (invalid UTF-8 in a string) is INVALID_ARGUMENT with INVALID_FIELD, not INTERNAL', async () => {
    const g = env.grpc;
    // GetContextRequest { context_id (1): the bytes ED A0 80, a UTF-16 surrogate in UTF-8 }.
    const raw = Buffer.from([0x0a, 0x03, 0xed, 0xa0, 0x80]);
    const call = new Promise<unknown>((resolve, reject) =>
      g.client.makeUnaryRequest(
        '/engram.v3.EngramService/GetContext',
        (b: Buffer) => b,
        (b: Buffer) => b,
        raw,
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
    const err = await rejectsWith(call, status.INVALID_ARGUMENT, 'INVALID_FIELD');
    assert.match(err.details, /not a valid message/);
  });
});
