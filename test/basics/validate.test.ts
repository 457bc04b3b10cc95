import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngramError, type ErrorCode } from '../../src/basics/errors.js';
import { checkId, normalizeListQuery, parseContextPatch, parseWorkUnitDraft, compareUtf8 } from '../../src/basics/validate.js';

const base = { contextId: 'c', agentId: 'a', type: 'MESSAGE', payload: 'hi' };

function rejects(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EngramError, `expected EngramError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('ids', () => {
  test('accept any printable Unicode up to 256 characters', () => {
    for (const id of ['a', 'team/a b', 'ключ', '🦊', 'x'.repeat(256), 'a\u00a0b']) assert.equal(checkId(id, 'id'), id);
  });
  test('reject empty, too long, control characters, lone surrogates and non-strings', () => {
    rejects(() => checkId('', 'contextId'), 'INVALID_ID', /contextId: must not be empty/);
    rejects(() => checkId('x'.repeat(257), 'id'), 'INVALID_ID', /longer than 256/);
    for (const bad of ['a\u0000b', 'a\nb', 'tab\t', '\u007f', '\u0085']) rejects(() => checkId(bad, 'id'), 'INVALID_ID', /control/);
    rejects(() => checkId('a\ud800', 'id'), 'INVALID_ID', /well-formed/);
    rejects(() => checkId(5, 'id'), 'INVALID_ID', /must be a string, got a number/);
    rejects(() => checkId(null, 'id'), 'INVALID_ID', /got null/);
  });
});

describe('work unit drafts', () => {
  test('keep every field and default the optional ones', () => {
    const d = parseWorkUnitDraft({
      ...base,
      meta: { k: 'v' },
      relationships: [
        { targetId: 't', type: 'RESPONDS_TO', meta: { why: 'answer' } },
        { targetId: 'u', type: 'CAUSES' },
      ],
      idempotencyKey: 'key-1',
    });
    assert.deepEqual(d, {
      fence: undefined,
      embedding: undefined,
      contextId: 'c',
      agentId: 'a',
      type: 'MESSAGE',
      payload: 'hi',
      meta: { k: 'v' },
      relationships: [
        { targetId: 't', type: 'RESPONDS_TO', meta: { why: 'answer' } },
        { targetId: 'u', type: 'CAUSES', meta: {} },
      ],
      idempotencyKey: 'key-1',
    });
    const minimal = parseWorkUnitDraft({ ...base, payload: null });
    assert.deepEqual([minimal.meta, minimal.relationships, minimal.payload, minimal.idempotencyKey], [{}, [], null, undefined]);
  });

  test('every type is accepted; unknown ones are refused with the list', () => {
    for (const type of ['MESSAGE', 'REASONING', 'TOOL_CALL', 'TOOL_RESULT', 'FILE_CHANGE', 'TASK_STATUS', 'ERROR', 'SYSTEM']) {
      assert.equal(parseWorkUnitDraft({ ...base, type }).type, type);
    }
    rejects(() => parseWorkUnitDraft({ ...base, type: 'message' }), 'INVALID_FIELD', /type: must be one of MESSAGE/);
    rejects(() => parseWorkUnitDraft({ ...base, relationships: [{ targetId: 't', type: 'LIKES' }] }), 'INVALID_FIELD', /relationships\[0\]\.type/);
  });

  test('wrong shapes name the field', () => {
    rejects(() => parseWorkUnitDraft([]), 'INVALID_FIELD', /must be a JSON object, got an array/);
    rejects(() => parseWorkUnitDraft('x'), 'INVALID_FIELD');
    rejects(() => parseWorkUnitDraft({ ...base, meta: { k: 1 } }), 'INVALID_FIELD', /meta\.k: must be a string/);
    rejects(() => parseWorkUnitDraft({ ...base, meta: [] }), 'INVALID_FIELD', /meta: must be an object/);
    rejects(() => parseWorkUnitDraft({ ...base, meta: JSON.parse('{"__proto__":"x"}') }), 'INVALID_FIELD', /__proto__/);
    rejects(() => parseWorkUnitDraft({ ...base, relationships: {} }), 'INVALID_FIELD', /relationships: must be an array/);
    rejects(() => parseWorkUnitDraft({ ...base, relationships: [{ type: 'CAUSES' }] }), 'MISSING_FIELD', /targetId/);
    rejects(() => parseWorkUnitDraft({ ...base, relationships: [{ targetId: 't', type: 'CAUSES', x: 1 }] }), 'UNKNOWN_FIELD', /relationships\[0\]\.x/);
    rejects(() => parseWorkUnitDraft({ ...base, relationships: new Array(65).fill({ targetId: 't', type: 'CAUSES' }) }), 'INVALID_FIELD', /more than 64/);
  });

  test('required, unknown and server-assigned fields', () => {
    for (const field of ['contextId', 'agentId', 'type', 'payload']) {
      const body: Record<string, unknown> = { ...base };
      delete body[field];
      rejects(() => parseWorkUnitDraft(body), 'MISSING_FIELD', new RegExp(`${field}: required`));
    }
    rejects(() => parseWorkUnitDraft({ ...base, colour: 'red' }), 'UNKNOWN_FIELD', /colour/);
    for (const field of ['id', 'seq', 'ts']) rejects(() => parseWorkUnitDraft({ ...base, [field]: 1 }), 'UNKNOWN_FIELD', /assigned by the server/);
  });

  test('payload depth and non-finite numbers are refused without recursion', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    rejects(() => parseWorkUnitDraft({ ...base, payload: deep }), 'INVALID_FIELD', /nested deeper than 64/);
    let ok: unknown = 1;
    for (let i = 0; i < 63; i++) ok = { k: ok };
    assert.ok(parseWorkUnitDraft({ ...base, payload: ok }));
    rejects(() => parseWorkUnitDraft({ ...base, payload: JSON.parse('1e400') }), 'INVALID_FIELD', /finite/);
    rejects(() => parseWorkUnitDraft({ ...base, payload: JSON.parse('{"a":[1,-1e999]}') }), 'INVALID_FIELD', /finite/);
  });

  test('payloads hold only JSON values (a decoder of a richer format may produce more)', () => {
    for (const bad of [undefined, new Date(), Buffer.from('x'), new Map(), () => 1, 10n, { nested: [new Uint8Array(2)] }, { u: undefined }]) {
      rejects(() => parseWorkUnitDraft({ ...base, payload: bad }), bad === undefined ? 'MISSING_FIELD' : 'INVALID_FIELD');
    }
    assert.ok(parseWorkUnitDraft({ ...base, payload: Object.assign(Object.create(null), { a: 1 }) }));
  });

  test('an embedding is an array of finite numbers', () => {
    assert.deepEqual([...parseWorkUnitDraft({ ...base, embedding: [0.5, -1, 2] }).embedding!], [0.5, -1, 2]);
    rejects(() => parseWorkUnitDraft({ ...base, embedding: [] }), 'INVALID_FIELD', /embedding: must be an array of 1 to 4096/);
    rejects(() => parseWorkUnitDraft({ ...base, embedding: 'x' }), 'INVALID_FIELD', /embedding/);
    rejects(() => parseWorkUnitDraft({ ...base, embedding: [1, 'a'] }), 'INVALID_FIELD', /embedding\[1\]/);
    rejects(() => parseWorkUnitDraft({ ...base, embedding: new Array(4097).fill(0) }), 'INVALID_FIELD', /4096/);
  });

  test('a fence names a resource and a positive integer token', () => {
    assert.deepEqual(parseWorkUnitDraft({ ...base, fence: { resource: 'src/a.ts', token: 7 } }).fence, { resource: 'src/a.ts', token: 7 });
    rejects(() => parseWorkUnitDraft({ ...base, fence: 'src/a.ts' }), 'INVALID_FIELD', /fence: must be an object/);
    rejects(() => parseWorkUnitDraft({ ...base, fence: { resource: 'r' } }), 'MISSING_FIELD', /fence\.token/);
    rejects(() => parseWorkUnitDraft({ ...base, fence: { token: 1 } }), 'MISSING_FIELD', /fence\.resource/);
    rejects(() => parseWorkUnitDraft({ ...base, fence: { resource: 'r', token: 0 } }), 'INVALID_FIELD', /positive integer/);
    rejects(() => parseWorkUnitDraft({ ...base, fence: { resource: 'r', token: '3' } }), 'INVALID_FIELD', /positive integer/);
    rejects(() => parseWorkUnitDraft({ ...base, fence: { resource: 'r', token: 1, holder: 'x' } }), 'UNKNOWN_FIELD', /fence\.holder/);
  });

  test('idempotency key from header and body must agree', () => {
    assert.equal(parseWorkUnitDraft(base, 'h').idempotencyKey, 'h');
    assert.equal(parseWorkUnitDraft({ ...base, idempotencyKey: 'h' }, 'h').idempotencyKey, 'h');
    rejects(() => parseWorkUnitDraft({ ...base, idempotencyKey: 'b' }, 'h'), 'INVALID_FIELD', /differs/);
    rejects(() => parseWorkUnitDraft(base, 'bad\u0001'), 'INVALID_ID', /Idempotency-Key/);
  });
});

describe('context patches', () => {
  test('parse every field, deduplicating lists', () => {
    const p = parseContextPatch({ displayName: 'N', addAgents: ['a', 'a', 'b'], removeAgents: ['c'], pinUnits: ['u'], unpinUnits: ['v'], meta: { k: 'v', gone: null } });
    assert.deepEqual(p, { displayName: 'N', addAgents: ['a', 'b'], removeAgents: ['c'], pinUnits: ['u'], unpinUnits: ['v'], meta: { k: 'v', gone: null } });
    assert.deepEqual(parseContextPatch({}), { displayName: undefined, addAgents: [], removeAgents: [], pinUnits: [], unpinUnits: [], meta: {} });
  });
  test('refuse bad shapes', () => {
    rejects(() => parseContextPatch({ displayName: '' }), 'INVALID_FIELD', /displayName/);
    rejects(() => parseContextPatch({ displayName: 3 }), 'INVALID_FIELD', /displayName/);
    rejects(() => parseContextPatch({ addAgents: 'a' }), 'INVALID_FIELD', /addAgents: must be an array/);
    rejects(() => parseContextPatch({ addAgents: [''] }), 'INVALID_ID', /addAgents\[0\]/);
    rejects(() => parseContextPatch({ meta: { k: 5 } }), 'INVALID_FIELD', /meta\.k/);
    rejects(() => parseContextPatch({ version: 2 }), 'UNKNOWN_FIELD', /version/);
    rejects(() => parseContextPatch(null), 'INVALID_FIELD');
  });
});

describe('list queries', () => {
  test('defaults and bounds', () => {
    assert.deepEqual(normalizeListQuery({}), { limit: 100, after: 0, before: Infinity, reverse: false });
    assert.equal(normalizeListQuery({ limit: 1000 }).limit, 1000);
    rejects(() => normalizeListQuery({ limit: 0 }), 'INVALID_QUERY', /limit/);
    rejects(() => normalizeListQuery({ limit: 1001 }), 'INVALID_QUERY', /limit/);
    rejects(() => normalizeListQuery({ limit: 1.5 }), 'INVALID_QUERY', /limit/);
    rejects(() => normalizeListQuery({ after: -1 }), 'INVALID_QUERY', /after/);
    rejects(() => normalizeListQuery({ before: 0 }), 'INVALID_QUERY', /before/);
  });
});

describe('compareUtf8', () => {
  test('orders like the UTF-8 bytes LevelDB sorts by, also where UTF-16 order differs', () => {
    assert.ok(compareUtf8('\uFF01', '😀') < 0, 'U+FF01 before U+1F600');
    assert.ok('\uFF01' > '😀', 'JavaScript order differs here');
    const pool = ['', 'a', 'ab', 'b', '\u00e9', '\uFF01', '\uFFFF', '😀', '😀a', '\u{10000}', 'z\uFF01', 'z😀'];
    for (const a of pool) {
      for (const b of pool) {
        const bytes = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.equal(Math.sign(compareUtf8(a, b)), bytes, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      }
    }
  });
});
