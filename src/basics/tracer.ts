/**
 * Spans, as the core reports them without knowing how they are kept: the wiring passes an
 * implementation (OpenTelemetry in ops/tracer-otel.ts, only when tracing.enabled); the default
 * does nothing. Callers test `enabled` before building a span's options, so with tracing off a
 * write allocates nothing for it (docs/agents.md, "Traces").
 */

export type SpanAttributes = Record<string, string | number | boolean | string[] | undefined>;

export interface SpanOptions {
  /**
   * The parent, as a W3C traceparent (a unit's `meta.traceparent`, another span's `traceparent`);
   * null: a new trace; absent: the span current where `start` is called (Tracer.within), if any.
   */
  parent?: string | null;
  kind?: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  attributes?: SpanAttributes;
}

export interface TraceSpan {
  /** Adds attributes (undefined values are left out). */
  set(attributes: SpanAttributes): void;
  /** This span as a W3C traceparent: the parent to give spans started elsewhere (a unit's fan-out). */
  readonly traceparent: string;
  /** Ends the span; with an error it is marked failed, with the error's code as `error.type`. */
  end(error?: unknown): void;
}

export interface Tracer {
  /** False for the no-op: callers skip the span and everything they would build for it. */
  readonly enabled: boolean;
  start(name: string, options?: SpanOptions): TraceSpan;
  /** Runs `fn` with `span` current: spans started inside it (and in what it awaits) without a parent are its children. */
  within<T>(span: TraceSpan, fn: () => T): T;
  /** The current span's traceparent (Tracer.within), to parent a span started later elsewhere. */
  current(): string | undefined;
}

/** The span the no-op tracer hands out: it does nothing. */
export const NO_SPAN: TraceSpan = {
  set: () => undefined,
  traceparent: '',
  end: () => undefined,
};

export const NO_TRACER: Tracer = {
  enabled: false,
  start: () => NO_SPAN,
  within: (_span, fn) => fn(),
  current: () => undefined,
};

/**
 * Runs `fn` in a span named `name` (ended when its promise settles, failed when it rejects), or
 * just runs it when tracing is off. Not for the write path: it allocates a closure per call.
 */
export function traced<T>(tracer: Tracer, name: string, options: SpanOptions, fn: (span: TraceSpan) => Promise<T>): Promise<T> {
  if (!tracer.enabled) return fn(NO_SPAN);
  const span = tracer.start(name, options);
  return tracer
    .within(span, () => fn(span))
    .then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        span.end(err);
        throw err;
      },
    );
}
