/** The gRPC codec's enum mapping, without a server: every engine value has a proto value and back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSync } from '@grpc/proto-loader';
import { EngramError } from '../../src/basics/errors.js';
import { RELATIONSHIP_TYPES, WORK_UNIT_TYPES, type WorkUnit } from '../../src/basics/types.js';
import { engram } from '../../src/generated/engram.js';
import { searchInput, unitInput, unitOut } from '../../src/transport/grpc/codec.js';
import { ENGRAM_PROTO, PROTO_DIR } from '../helpers/grpc.js';

import pb = engram.v3;

/** The values of a proto enum as the .proto declares them (not as the generated code does). */
function protoEnum(name: string): Record<string, number> {
  const def = loadSync(ENGRAM_PROTO, { includeDirs: [PROTO_DIR] })[name] as { type: { value: Array<{ name: string; number: number }> } };
  return Object.fromEntries(def.type.value.map((v) => [v.name, v.number]));
}

function storedUnit(type: string, relType: string): WorkUnit {
  return {
    id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
    contextId: 'c',
    seq: 1,
    agentId: 'a',
    type,
    ts: '2026-01-02T03:04:05.678Z',
    meta: {},
    payload: null,
    relationships: [{ targetId: 't', type: relType, meta: {} }],
  } as WorkUnit;
}

test('every work unit type has a WorkUnitType value and round-trips', () => {
  const values = protoEnum('engram.v3.WorkUnitType');
  assert.equal(values.WORK_UNIT_TYPE_UNSPECIFIED, 0);
  assert.deepEqual(
    Object.keys(values)
      .filter((k) => k !== 'WORK_UNIT_TYPE_UNSPECIFIED')
      .sort(),
    WORK_UNIT_TYPES.map((t) => `WORK_UNIT_TYPE_${t}`).sort(),
    'the proto has no value the engine lacks, and the other way round',
  );
  for (const t of WORK_UNIT_TYPES) {
    const value = values[`WORK_UNIT_TYPE_${t}`]!;
    assert.ok(value > 0, t);
    assert.equal((pb.WorkUnitType as unknown as Record<string, number>)[`WORK_UNIT_TYPE_${t}`], value, `${t}: generated code matches the .proto`);
    assert.equal(unitInput({ type: value }).type, t, `${t} in`);
    assert.equal(unitOut(storedUnit(t, 'CAUSES')).type, value, `${t} out`);
  }
});

test('every relationship type has a RelationshipType value and round-trips', () => {
  const values = protoEnum('engram.v3.RelationshipType');
  assert.equal(values.RELATIONSHIP_TYPE_UNSPECIFIED, 0);
  assert.deepEqual(
    Object.keys(values)
      .filter((k) => k !== 'RELATIONSHIP_TYPE_UNSPECIFIED')
      .sort(),
    RELATIONSHIP_TYPES.map((t) => `RELATIONSHIP_TYPE_${t}`).sort(),
  );
  for (const t of RELATIONSHIP_TYPES) {
    const value = values[`RELATIONSHIP_TYPE_${t}`]!;
    assert.ok(value > 0, t);
    const input = unitInput({ type: 1, relationships: [{ targetId: 't', type: value }] });
    assert.deepEqual(input.relationships, [{ targetId: 't', type: t }], `${t} in`);
    assert.equal(unitOut(storedUnit('MESSAGE', t)).relationships![0]!.type, value, `${t} out`);
  }
});

test('0 means not given; an unknown value is INVALID_FIELD', () => {
  assert.equal(unitInput({ type: 0 }).type, undefined);
  assert.deepEqual((unitInput({ type: 1, relationships: [{ targetId: 't', type: 0 }] }).relationships as Array<{ type: unknown }>)[0]!.type, undefined);
  const invalid = (fn: () => unknown, field: RegExp) => assert.throws(fn, (err: unknown) => err instanceof EngramError && err.code === 'INVALID_FIELD' && field.test(err.message));
  const unknown = (n: number) => n; // a number the generated enum types do not list
  invalid(() => unitInput({ type: unknown(99) }), /^type/);
  invalid(() => unitInput({ type: 1, relationships: [{ targetId: 't', type: unknown(8) }] }), /^relationships\[0\]\.type/);
  invalid(() => searchInput({ query: 'x', types: [1, unknown(42)] }), /^types\[1\]/);
  invalid(() => searchInput({ query: 'x', mode: unknown(9) }), /^mode/);
});

test('search modes and type filters map to the engine names', () => {
  assert.equal(searchInput({ query: 'x' }).mode, undefined);
  assert.equal(searchInput({ query: 'x', mode: pb.SearchMode.SEARCH_MODE_HYBRID }).mode, 'hybrid');
  assert.equal(searchInput({ query: 'x', mode: pb.SearchMode.SEARCH_MODE_KEYWORD }).mode, 'keyword');
  assert.equal(searchInput({ query: 'x', mode: pb.SearchMode.SEARCH_MODE_VECTOR }).mode, 'vector');
  const all = WORK_UNIT_TYPES.map((t) => (pb.WorkUnitType as unknown as Record<string, number>)[`WORK_UNIT_TYPE_${t}`]!);
  assert.deepEqual(searchInput({ query: 'x', types: all }).types, [...WORK_UNIT_TYPES]);
});

test('timestamps keep milliseconds', () => {
  const out = unitOut(storedUnit('MESSAGE', 'CAUSES'));
  assert.deepEqual(out.ts, { seconds: Date.parse('2026-01-02T03:04:05.678Z') / 1000 - 0.678, nanos: 678_000_000 });
});
