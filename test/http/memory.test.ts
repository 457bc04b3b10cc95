/**
 * The memory tool's commands over HTTP, with the result and error strings of the tool's
 * documentation; path traversal refused; concurrent editors of one file lose nothing; every
 * change is a FILE_CHANGE unit with history, streamed live.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serverPerFile } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';

const env = serverPerFile({ args: ['--search-enabled', 'false'] });

async function mem(space: string, input: Record<string, unknown>): Promise<{ result: string; isError: boolean }> {
  const r = await env.http.post(`/memory/${space}/command`, input);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const ok = async (space: string, input: Record<string, unknown>) => {
  const r = await mem(space, input);
  assert.equal(r.isError, false, r.result);
  return r.result;
};
const err = async (space: string, input: Record<string, unknown>) => {
  const r = await mem(space, input);
  assert.equal(r.isError, true, r.result);
  return r.result;
};

describe('memory tool commands', () => {
  test('create, view (file and directory), str_replace, insert, rename, delete: the documented strings', async () => {
    const s = 'docs-strings';
    assert.equal(await ok(s, { command: 'create', path: '/memories/notes.txt', file_text: 'Hello World\nThis is line two' }), 'File created successfully at: /memories/notes.txt');
    assert.equal(await err(s, { command: 'create', path: '/memories/notes.txt', file_text: 'x' }), 'Error: File /memories/notes.txt already exists');
    assert.equal(
      await ok(s, { command: 'view', path: '/memories/notes.txt' }),
      "Here's the content of /memories/notes.txt with line numbers:\n     1\tHello World\n     2\tThis is line two",
    );
    assert.equal(
      await ok(s, { command: 'view', path: '/memories/notes.txt', view_range: [2, 2] }),
      "Here's the content of /memories/notes.txt with line numbers:\n     2\tThis is line two",
    );
    await ok(s, { command: 'create', path: '/memories/projects/alpha/plan.md', file_text: 'plan' });
    await ok(s, { command: 'create', path: '/memories/projects/alpha/deep/too-deep.md', file_text: 'deep' });
    await ok(s, { command: 'create', path: '/memories/.hidden', file_text: 'secret' });
    assert.equal(
      await ok(s, { command: 'view', path: '/memories' }),
      [
        "Here're the files and directories up to 2 levels deep in /memories, excluding hidden items and node_modules:",
        '36B\t/memories',
        '28B\t/memories/notes.txt',
        '8B\t/memories/projects',
        '8B\t/memories/projects/alpha',
      ].join('\n'),
    );
    assert.equal(await err(s, { command: 'view', path: '/memories/nope' }), 'The path /memories/nope does not exist. Please provide a valid path.');

    assert.match(
      await ok(s, { command: 'str_replace', path: '/memories/notes.txt', old_str: 'line two', new_str: 'line 2' }),
      /^The memory file has been edited\.\n {5}1\tHello World\n {5}2\tThis is line 2$/,
    );
    assert.equal(
      await err(s, { command: 'str_replace', path: '/memories/notes.txt', old_str: 'absent', new_str: 'x' }),
      'No replacement was performed, old_str `absent` did not appear verbatim in /memories/notes.txt.',
    );
    await ok(s, { command: 'create', path: '/memories/dup.txt', file_text: 'a\nb a\nc' });
    assert.equal(
      await err(s, { command: 'str_replace', path: '/memories/dup.txt', old_str: 'a', new_str: 'x' }),
      'No replacement was performed. Multiple occurrences of old_str `a` in lines: 1, 2. Please ensure it is unique',
    );
    assert.equal(
      await err(s, { command: 'str_replace', path: '/memories/missing.txt', old_str: 'a', new_str: 'b' }),
      'Error: The path /memories/missing.txt does not exist. Please provide a valid path.',
    );
    assert.equal(
      await err(s, { command: 'str_replace', path: '/memories/projects', old_str: 'a', new_str: 'b' }),
      'Error: The path /memories/projects does not exist. Please provide a valid path.',
    );

    assert.equal(await ok(s, { command: 'insert', path: '/memories/notes.txt', insert_line: 1, insert_text: 'Inserted\n' }), 'The file /memories/notes.txt has been edited.');
    assert.match(await ok(s, { command: 'view', path: '/memories/notes.txt' }), /1\tHello World\n {5}2\tInserted\n {5}3\tThis is line 2$/);
    assert.equal(
      await err(s, { command: 'insert', path: '/memories/notes.txt', insert_line: 9, insert_text: 'x' }),
      'Error: Invalid `insert_line` parameter: 9. It should be within the range of lines of the file: [0, 3]',
    );
    assert.equal(await err(s, { command: 'insert', path: '/memories/none.txt', insert_line: 0, insert_text: 'x' }), 'Error: The path /memories/none.txt does not exist');

    assert.equal(
      await ok(s, { command: 'rename', old_path: '/memories/notes.txt', new_path: '/memories/archive/notes.txt' }),
      'Successfully renamed /memories/notes.txt to /memories/archive/notes.txt',
    );
    assert.equal(await err(s, { command: 'rename', old_path: '/memories/notes.txt', new_path: '/memories/x.txt' }), 'Error: The path /memories/notes.txt does not exist');
    assert.equal(
      await err(s, { command: 'rename', old_path: '/memories/dup.txt', new_path: '/memories/archive/notes.txt' }),
      'Error: The destination /memories/archive/notes.txt already exists',
    );
    assert.equal(
      await ok(s, { command: 'rename', old_path: '/memories/projects', new_path: '/memories/old-projects' }),
      'Successfully renamed /memories/projects to /memories/old-projects',
    );
    assert.match(await ok(s, { command: 'view', path: '/memories/old-projects/alpha/plan.md' }), /1\tplan$/);

    assert.equal(await ok(s, { command: 'delete', path: '/memories/old-projects' }), 'Successfully deleted /memories/old-projects');
    assert.equal(
      await err(s, { command: 'view', path: '/memories/old-projects/alpha/plan.md' }),
      'The path /memories/old-projects/alpha/plan.md does not exist. Please provide a valid path.',
    );
    assert.equal(await err(s, { command: 'delete', path: '/memories/old-projects' }), 'Error: The path /memories/old-projects does not exist');
    assert.match(await err(s, { command: 'delete', path: '/memories' }), /cannot be deleted/);
    assert.match(await err(s, { command: 'frobnicate' }), /Unknown command/);
  });

  test('paths that would leave /memories are refused, in every spelling', async () => {
    const s = 'traversal';
    const attempts = [
      '/memories/../etc/passwd',
      '/memories/a/../../x',
      '/etc/passwd',
      'memories/x',
      '/memories/%2e%2e%2fsecret',
      '/memories/..%2fx',
      '/memories\\..\\x',
      '/memories/./x',
      '/memoriesX/y',
      '/memories//x',
      '/memories/a\u0000b',
      '',
    ];
    for (const path of attempts) {
      const r = await mem(s, { command: 'create', path, file_text: 'x' });
      assert.equal(r.isError, true, path);
      assert.match(r.result, /not allowed|is not allowed/, path);
    }
    for (const path of ['/memories/../x', '/memories/%2e%2e']) assert.equal((await mem(s, { command: 'view', path })).isError, true, path);
    assert.equal((await env.http.get(`/memory/${s}/tree`)).json.files.length, 0, 'nothing was stored');
    // A bad space name is a request error, not a tool result.
    assert.equal((await env.http.post('/memory/..%2Fx/command', { command: 'view', path: '/memories' })).json.error.code, 'INVALID_ID');
  });

  test('two agents editing one file at once lose no edit; history says who changed what; changes stream live', async () => {
    const s = 'shared-notes';
    const ws = new WsClient(`${env.server.url.replace('http', 'ws')}/stream?context=memories/${s}`);
    await ws.open();
    await ws.next((f) => f.event === 'subscribed');
    const lines = Array.from({ length: 20 }, (_, i) => `item ${i}: todo`);
    await ok(s, { command: 'create', path: '/memories/list.md', file_text: lines.join('\n') });
    // Twenty edits of different lines of the same file, all at once, from two agents.
    const edits = await Promise.all(
      lines.map((_, i) =>
        env.http.post(`/memory/${s}/command?agentId=agent-${i % 2}`, {
          command: 'str_replace',
          path: '/memories/list.md',
          old_str: `item ${i}: todo`,
          new_str: `item ${i}: done by ${i % 2}`,
        }),
      ),
    );
    assert.ok(
      edits.every((r) => r.json.isError === false),
      JSON.stringify(edits.map((r) => r.json)),
    );
    const file = (await env.http.get(`/memory/${s}/file?path=/memories/list.md`)).json;
    assert.equal(file.text, lines.map((_, i) => `item ${i}: done by ${i % 2}`).join('\n'));
    // An edit against text that changed underneath gets the tool's normal error.
    assert.match((await mem(s, { command: 'str_replace', path: '/memories/list.md', old_str: 'item 3: todo', new_str: 'x' })).result, /did not appear verbatim/);

    const history = (await env.http.get(`/memory/${s}/history?path=/memories/list.md`)).json.changes;
    assert.equal(history.length, 21);
    assert.equal(history[0].command, 'create');
    assert.deepEqual(new Set(history.slice(1).map((h: { agentId: string }) => h.agentId)), new Set(['agent-0', 'agent-1']));
    // Replaying the history gives the file.
    assert.equal(history[history.length - 1].change.text, file.text);

    await ws.untilSeq(`memories/${s}`, 21);
    const streamed = ws.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit);
    assert.ok(streamed.every((u) => u.type === 'FILE_CHANGE'));
    assert.equal(streamed[0].payload.op, 'write');
    ws.close();
  });

  test('the tree shows each file once, where the last rename put it', async () => {
    const s = 'durable';
    await ok(s, { command: 'create', path: '/memories/keep.md', file_text: 'kept' });
    await ok(s, { command: 'rename', old_path: '/memories/keep.md', new_path: '/memories/kept.md' });
    const tree = (await env.http.get(`/memory/${s}/tree`)).json.files;
    assert.deepEqual(tree, [{ path: '/memories/kept.md', size: 4 }]);
  });
});
