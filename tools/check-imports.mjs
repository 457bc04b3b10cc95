#!/usr/bin/env node
/**
 * The house plan, checked: every file under src/ belongs to a layer (its folder), a layer
 * imports only the layers listed for it, and no files import each other in a circle (type-only
 * imports count: a circle of types is still a knot a reader has to untie). Run by `make lint`;
 * `node tools/check-imports.mjs [root]` checks another tree (the lint fixtures in test/tools/).
 *
 * The layers follow a write's way through the server (docs/architecture.md): a transport hands it
 * to the gate, the gate checks the tenant and passes it to the engine, the engine commits it to
 * the log in storage, and streams and search take it from there. A layer may import the layers
 * below it, never one above.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Each layer and the layers it may import (besides itself). */
export const LAYERS = {
  // Shared basics: errors, ids, limits, types, validation, request schemas, the observer interface.
  basics: [],
  // Protocol code (protobufjs) and the gRPC service definition both ends share.
  generated: [],
  wire: ['generated'],
  // Who is asking: principals, access rules, client settings, quotas.
  tenancy: ['basics'],
  // The write path's heart: the engine, its context cache and tails, and the Log interface.
  engine: ['basics'],
  locks: ['basics'],
  // Implementations of the Log and the lock store (LevelDB, JetStream, memory).
  storage: ['basics', 'engine', 'locks'],
  // After a commit: the router fans out, the hub keeps the connections.
  streams: ['basics', 'tenancy', 'engine', 'locks'],
  search: ['basics', 'engine'],
  // The one façade the transports call.
  gate: ['basics', 'tenancy', 'engine', 'locks', 'streams', 'search'],
  // Agent memory (files, facts, graph) on top of the gate.
  memory: ['basics', 'tenancy', 'gate'],
  // What only agents need on top of the log: a context window under a token budget.
  agents: ['basics', 'tenancy', 'gate', 'memory'],
  auth: ['basics', 'tenancy'],
  config: ['tenancy', 'auth', 'streams'],
  ops: ['basics', 'tenancy', 'engine', 'locks', 'streams', 'search'],
  // The SDK: stands alone, sharing only the wire definitions with the server.
  client: ['wire'],
  // LangGraph's checkpoint saver and store on Engram: built on the SDK alone, like any client.
  langgraph: ['client'],
  mcp: ['basics', 'tenancy', 'gate', 'memory', 'agents', 'client'],
  transport: ['basics', 'wire', 'tenancy', 'locks', 'streams', 'search', 'gate', 'memory', 'agents', 'mcp'],
  // The wiring: builds every part from the config and starts the server.
  cli: ['*'],
  main: ['*'],
};

/** The layer of a file: its first folder under src/ (a file at the top is `main`). */
function layerOf(file) {
  const parts = file.split('/');
  return parts.length === 1 ? 'main' : parts[0];
}

function sourceFiles(dir, root = dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name === 'dashboard' && dir === root) continue; // the browser app, built on its own
      out.push(...sourceFiles(path, root));
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      out.push(relative(root, path).split(sep).join('/'));
    }
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,]+?\s+from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Relative imports of each file, as files under the root. */
export function importGraph(root) {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const targets = new Set();
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      const target = relative(root, resolve(root, dirname(file), spec.replace(/\.js$/, '.ts')))
        .split(sep)
        .join('/');
      if (known.has(target)) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan. */
export function circles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Every broken rule, as lines a person can act on. */
export function check(root, layers = LAYERS) {
  const graph = importGraph(root);
  const problems = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    const allowed = layers[from];
    if (allowed === undefined) {
      problems.push(`${file}: folder "${from}" is not a layer of the house plan (tools/check-imports.mjs)`);
      continue;
    }
    for (const target of targets) {
      const to = layerOf(target);
      if (to === from || allowed.includes('*') || allowed.includes(to)) continue;
      problems.push(`${file} imports ${target}: ${from}/ may not import ${to}/ (it may import: ${allowed.join(', ') || 'nothing'})`);
    }
  }
  for (const scc of circles(graph)) {
    // One path round the circle, so the reader sees where to cut.
    const inScc = new Set(scc);
    const path = [scc[0]];
    const seen = new Set(path);
    for (;;) {
      const next = (graph.get(path[path.length - 1]) ?? []).find((t) => inScc.has(t) && (t === scc[0] || !seen.has(t)));
      if (next === undefined || next === scc[0]) break;
      path.push(next);
      seen.add(next);
    }
    problems.push(
      `import circle through ${scc.length} file(s): ${[...path, scc[0]].join(' -> ')}${scc.length > path.length ? ` (and ${scc.length - path.length} more: ${scc.filter((f) => !seen.has(f)).join(', ')})` : ''}`,
    );
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(process.argv[2] ?? 'src');
  const problems = check(root);
  for (const p of problems) process.stderr.write(`${p}\n`);
  if (problems.length > 0) {
    process.stderr.write(`check-imports: ${problems.length} problem(s) in ${root}\n`);
    process.exit(1);
  }
  process.stdout.write(`check-imports: ${importGraph(root).size} files, no circles, every import goes down a layer\n`);
}
