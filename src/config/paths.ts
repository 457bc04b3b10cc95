/**
 * Dotted paths into nested objects, in types and at run time, so that the settings table can
 * say where each value goes (`storage.dataDir`) and both the `Config` type and the loader's
 * object follow from that one string.
 */

/** One value at a dotted path, like { path: 'storage.dataDir'; value: string }. */
export interface Leaf {
  path: string;
  value: unknown;
}

type Head<P extends string> = P extends `${infer H}.${string}` ? H : P;

/** The leaves under `H`, with `H.` taken off their paths. */
type Below<L extends Leaf, H extends string> = L extends { path: `${H}.${infer Rest}`; value: infer V } ? { path: Rest; value: V } : never;

/** The object the leaves make: { path: 'a.b'; value: T } | { path: 'a.c'; value: U } → { a: { b: T; c: U } }. */
export type Nested<L extends Leaf> = {
  [H in Head<L['path']>]: [Extract<L, { path: H }>] extends [never] ? Nested<Below<L, H>> : Extract<L, { path: H }>['value'];
};

/** Sets `path` in `target`, making the objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts.at(-1)!] = value;
}

export function getPath(source: object, path: string): unknown {
  let node: unknown = source;
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}
