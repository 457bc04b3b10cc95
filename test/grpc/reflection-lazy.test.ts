/** Reflection built on first use: a proto that cannot be read ends that call UNAVAILABLE, reports it, and does not take the server down. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { status, type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { addLazyReflection } from '../../src/transport/grpc/reflection.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { withTimeout, WAIT_MS } from '../helpers/wait.js';

test('a reflection call on a proto that does not parse ends UNAVAILABLE and is reported; a missing proto fails at start', async () => {
  const dir = tempDir('engram-reflection-');
  try {
    const registered: Array<{ service: ServiceDefinition; implementation: UntypedServiceImplementation }> = [];
    const server = { addService: (service: ServiceDefinition, implementation: UntypedServiceImplementation) => registered.push({ service, implementation }) } as unknown as Server;
    assert.throws(() => addLazyReflection(server, join(dir, 'missing.proto'), () => undefined), /missing/);
    const bad = join(dir, 'bad.proto');
    writeFileSync(bad, 'syntax = "proto3"; this is not protobuf');
    const reported: unknown[] = [];
    addLazyReflection(server, bad, (err) => reported.push(err));
    assert.equal(registered.length, 2, 'v1 and v1alpha are registered at start');
    const [name] = Object.keys(registered[0]!.implementation);
    const ended = new Promise<{ code?: number }>((resolve) => (registered[0]!.implementation[name!] as (call: unknown) => void)({ destroy: resolve }));
    const err = await withTimeout(ended, WAIT_MS, 'the call to end');
    assert.equal(err.code, status.UNAVAILABLE);
    assert.equal(reported.length, 1);
  } finally {
    removeDir(dir);
  }
});
