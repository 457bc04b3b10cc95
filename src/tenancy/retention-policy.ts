/**
 * Retention policies (docs/lifecycle.md): which rule applies to a context of a client. The first
 * policy in the configured order that covers the client (it names no clients, or names this one)
 * and whose context patterns match the context applies; so specific policies go first.
 */
import type { RetentionRule } from '../basics/types.js';
import { Patterns } from './access.js';

export interface RetentionPolicy {
  /** Context patterns (`*` matches any run of characters). */
  contexts: string[];
  /** Client ids (or `~group` spaces) it is limited to; absent: every client. */
  clients?: string[];
  rule: RetentionRule;
}

export class RetentionPolicies {
  private readonly compiled: Array<{ patterns: Patterns; clients: ReadonlySet<string> | undefined; rule: RetentionRule }>;

  constructor(readonly policies: readonly RetentionPolicy[]) {
    this.compiled = policies.map((p) => ({ patterns: new Patterns(p.contexts), clients: p.clients === undefined ? undefined : new Set(p.clients), rule: p.rule }));
  }

  get empty(): boolean {
    return this.compiled.length === 0;
  }

  /** The rule for a context of a space (a client's own, or a group's), or undefined: keep everything. */
  ruleFor(space: string, contextId: string): RetentionRule | undefined {
    for (const p of this.compiled) {
      if (p.clients !== undefined && !p.clients.has(space)) continue;
      if (p.patterns.matches(contextId)) return p.rule;
    }
    return undefined;
  }
}
