/**
 * One setting's value, from what a user wrote (flag, environment, YAML, the table's default) to
 * what Config holds, by its kind; and back, for `engram config`.
 */
import type { HostPort, Setting } from './schema.js';

export type Value = string | number | boolean | string[] | HostPort;

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The value, or undefined after adding a problem that names the key and where the value came from. */
export function parseValue(s: Pick<Setting, 'key' | 'kind'>, raw: unknown, source: string, problems: string[]): Value | undefined {
  const fail = (expected: string) => {
    problems.push(`${s.key} (from ${source}): expected ${expected}, got ${JSON.stringify(raw)}`);
    return undefined;
  };
  const k = s.kind;
  switch (k.type) {
    case 'string':
      if (typeof raw !== 'string') return fail('a string');
      return raw;
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : undefined;
      if (items === undefined || items.some((x) => typeof x !== 'string')) return fail('a list of strings (comma-separated, or a YAML list)');
      // A YAML item with commas splits like the comma-separated form.
      return (items as string[])
        .flatMap((x) => x.split(','))
        .map((x) => x.trim())
        .filter((x) => x !== '');
    }
    case 'path':
      if (typeof raw !== 'string' || raw.trim() === '') return fail('a non-empty string');
      return raw;
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const t = String(raw).toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      return fail('true or false');
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
      if (!Number.isSafeInteger(n) || n < k.min || n > k.max) return fail(`an integer from ${k.min} to ${k.max}`);
      return n;
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : /^\d+(\.\d+)?$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
      if (!Number.isFinite(n) || n < k.min || n > k.max) return fail(`a number from ${k.min} to ${k.max}, like 0.25`);
      return n;
    }
    case 'bytes': {
      const m = typeof raw === 'number' ? [String(raw), String(raw), ''] : /^(\d+)\s*([a-z]*)$/i.exec(String(raw).trim());
      const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
      const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
      if (!Number.isSafeInteger(n) || n < k.min || n > k.max) {
        return fail(`a size from ${k.min} to ${k.max} bytes, like 512KiB or 1MiB`);
      }
      return n;
    }
    case 'duration': {
      const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(String(raw).trim());
      const n = m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : NaN;
      if (typeof raw !== 'string' || !Number.isSafeInteger(n) || n < k.min || n > k.max) {
        return fail(`a duration with a unit (ms, s, m, h, d) from ${k.min} ms to ${k.max} ms, like 30s or 24h`);
      }
      return n;
    }
    case 'hostport':
      return parseHostPort(String(raw)) ?? fail('HOST:PORT with a port from 0 to 65535, like 127.0.0.1:8080, [::1]:0 or :8080 (every interface)');
    case 'enum':
      if (typeof raw !== 'string' || !k.values.includes(raw)) return fail(`one of ${k.values.join(', ')}`);
      return raw;
  }
}

/** The value as a config file would state it (secrets masked), so `engram config` prints what loads back. */
export function formatValue(s: Setting, v: Value): unknown {
  if (s.secret) return v === '' || (Array.isArray(v) && v.length === 0) ? '' : '(set)';
  switch (s.kind.type) {
    case 'hostport':
      return formatHostPort(v as HostPort);
    case 'duration': {
      const ms = v as number;
      return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
    }
    default:
      return v;
  }
}

export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  // `:8080`, as Go servers and the engine's first README take it: every IPv4 interface.
  return { host: m[1] ?? (m[2] || ALL_INTERFACES), port };
}

/** The host an address with none (`:PORT`) binds: every IPv4 interface (`[::]:PORT` for IPv6 too). */
export const ALL_INTERFACES = '0.0.0.0';
