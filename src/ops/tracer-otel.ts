/**
 * The Tracer (basics/tracer.ts) on OpenTelemetry: @opentelemetry/sdk-node with one batch span
 * processor exporting OTLP over HTTP (JSON) to `tracing.endpoint`. The packages are imported only
 * here and only when tracing is on (cli/serve.ts loads this module then), so a server with tracing
 * off neither loads nor pays for them.
 *
 * The SDK is set up for spans alone: no instrumentations (Engram makes its own spans), no metrics
 * or logs (Prometheus and pino have those), no resource detectors beyond the service's name and
 * version, and no global propagator (Engram reads `traceparent` itself, basics/trace.ts). Its
 * AsyncLocalStorage context manager is what makes Tracer.within carry across awaits.
 */
import type { SpanAttributes, SpanOptions, TraceSpan, Tracer } from '../basics/tracer.js';
import { EngramError } from '../basics/errors.js';

export interface OtelTracingOptions {
  /** The OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  serviceName: string;
  serviceVersion: string;
  /** Share (0–1) of new traces kept; a span with a parent follows its parent's sampled flag. */
  sampleRatio: number;
  /** Extra request headers, `name=value` each (an authorization header for a hosted backend). */
  headers: string[];
  /** Longest a finished span waits before it is sent. */
  exportDelayMs: number;
  /** Told when a batch of spans could not be sent (the endpoint down or refusing); the spans are dropped. */
  onExportError?: (err: unknown) => void;
}

export interface OtelTracing {
  tracer: Tracer;
  /** Sends what is buffered and stops (at shutdown). */
  shutdown(): Promise<void>;
}

/** Starts the SDK; rejects when the packages cannot be loaded or the endpoint is not a URL. */
export async function startOtelTracing(options: OtelTracingOptions): Promise<OtelTracing> {
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch {
    throw new EngramError('INVALID_FIELD', `tracing.endpoint: not a URL: ${JSON.stringify(options.endpoint)}`);
  }
  const [api, sdkNode, otlp] = await Promise.all([import('@opentelemetry/api'), import('@opentelemetry/sdk-node'), import('@opentelemetry/exporter-trace-otlp-http')]);
  const { tracing, resources, NodeSDK, core } = sdkNode;
  // The SDK reports a failed export to its global handler, which is silent without a diagnostic logger.
  const onExportError = options.onExportError;
  if (onExportError !== undefined) core.setGlobalErrorHandler((err) => onExportError(err));
  const exporter = new otlp.OTLPTraceExporter({ url: url.href, headers: parseHeaders(options.headers) });
  const processor = new tracing.BatchSpanProcessor(exporter, { scheduledDelayMillis: options.exportDelayMs });
  const sdk = new NodeSDK({
    resource: resources.resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.serviceVersion }),
    autoDetectResources: false,
    spanProcessors: [processor],
    sampler: new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(options.sampleRatio) }),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
    textMapPropagator: null,
  });
  sdk.start();
  const otel = api.trace.getTracer('engram', options.serviceVersion);
  const KINDS = {
    internal: api.SpanKind.INTERNAL,
    server: api.SpanKind.SERVER,
    client: api.SpanKind.CLIENT,
    producer: api.SpanKind.PRODUCER,
    consumer: api.SpanKind.CONSUMER,
  } as const;

  /** A remote parent's span context, from its traceparent. */
  const remote = (parent: string) => {
    const [, traceId, spanId, flags] = parent.split('-');
    return { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16), isRemote: true };
  };
  /** The context a span starts in: its parent's (a remote one from a traceparent), a new trace's, or the current one. */
  const parentContext = (parent: string | null | undefined) => {
    if (parent === undefined) return api.context.active();
    if (parent === null) return api.ROOT_CONTEXT;
    return api.trace.setSpanContext(api.ROOT_CONTEXT, remote(parent));
  };

  /**
   * A span under a parent the caller did not sample: the parent-based sampler would drop it and
   * everything under it, so none is made. It stands for its parent: children started from its
   * traceparent, or inside it (Tracer.within), are dropped alike.
   */
  class Unsampled implements TraceSpan {
    constructor(readonly traceparent: string) {}
    set(): void {}
    end(): void {}
  }

  class OtelSpan implements TraceSpan {
    constructor(readonly span: import('@opentelemetry/api').Span) {}

    set(attributes: SpanAttributes): void {
      for (const key in attributes) {
        const v = attributes[key];
        if (v !== undefined) this.span.setAttribute(key, v);
      }
    }

    get traceparent(): string {
      const c = this.span.spanContext();
      return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    }

    end(error?: unknown): void {
      if (error !== undefined) {
        const code = error instanceof EngramError ? error.code : error instanceof Error ? error.name : 'error';
        this.span.setAttribute('error.type', code);
        this.span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message.slice(0, 500) : String(error) });
      }
      this.span.end();
    }
  }

  const tracer: Tracer = {
    enabled: true,
    start(name: string, o: SpanOptions = {}): TraceSpan {
      const p = o.parent;
      if (typeof p === 'string' && (parseInt(p.slice(53, 55), 16) & 1) === 0) return new Unsampled(p);
      const attributes: Record<string, string | number | boolean | string[]> = {};
      for (const key in o.attributes) {
        const v = o.attributes[key];
        if (v !== undefined) attributes[key] = v;
      }
      return new OtelSpan(otel.startSpan(name, { kind: KINDS[o.kind ?? 'internal'], attributes }, parentContext(o.parent)));
    },
    within<T>(span: TraceSpan, fn: () => T): T {
      if (span instanceof Unsampled) return api.context.with(api.trace.setSpanContext(api.context.active(), remote(span.traceparent)), fn);
      if (!(span instanceof OtelSpan)) return fn();
      return api.context.with(api.trace.setSpan(api.context.active(), span.span), fn);
    },
    current(): string | undefined {
      const c = api.trace.getSpanContext(api.context.active());
      if (c === undefined || !api.isSpanContextValid(c)) return undefined;
      return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    },
  };
  return { tracer, shutdown: () => sdk.shutdown() };
}

/** `name=value` items as a header map; an item without `=` is refused (a typo must not pass silently). */
export function parseHeaders(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new EngramError('INVALID_FIELD', 'tracing.headers: each item is name=value');
    out[item.slice(0, eq).trim().toLowerCase()] = item.slice(eq + 1).trim();
  }
  return out;
}
