/**
 * Embeddings from a model server over HTTP: OpenAI-compatible `POST /v1/embeddings`
 * (`{model, input: [...]}` → `{data: [{index, embedding}]}`) or Ollama's
 * `POST /api/embed` (`{model, input: [...]}` → `{embeddings: [[...]]}`). Requests are
 * batched, time out, and are retried a few times; failures surface to the indexer,
 * which retries later (a unit stays keyword-searchable meanwhile).
 */
import type { Embedder } from './search-types.js';

export interface HttpEmbedderOptions {
  kind: 'openai' | 'ollama';
  /** Base URL, e.g. http://127.0.0.1:11434 (Ollama) or https://host/ (OpenAI-compatible). */
  url: string;
  model: string;
  dimensions: number;
  apiKey?: string;
  timeoutMs?: number;
  /** Most texts in one request. */
  batchSize?: number;
}

export class HttpEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;

  constructor(private readonly options: HttpEmbedderOptions) {
    this.id = `${options.kind}:${options.model}`;
    this.dimensions = options.dimensions;
  }

  async ready(): Promise<void> {}

  async embed(texts: string[]): Promise<Float32Array[]> {
    const size = this.options.batchSize ?? 64;
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += size) out.push(...(await this.request(texts.slice(i, i + size))));
    return out;
  }

  private async request(input: string[]): Promise<Float32Array[]> {
    const o = this.options;
    const path = o.kind === 'openai' ? '/v1/embeddings' : '/api/embed';
    // Appended to the base, so a base with a path (https://host/proxy) keeps it.
    const url = o.url.replace(/\/+$/, '') + path;
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
          body: JSON.stringify({ model: o.model, input }),
          signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
        });
        if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
        const body = (await res.json()) as { data?: Array<{ index: number; embedding: number[] }>; embeddings?: number[][] };
        const vectors = o.kind === 'openai' ? [...(body.data ?? [])].sort((a, b) => a.index - b.index).map((d) => d.embedding) : (body.embeddings ?? []);
        if (vectors.length !== input.length) throw new Error(`${url} returned ${vectors.length} embeddings for ${input.length} texts`);
        return vectors.map((v) => {
          if (v.length !== this.dimensions) throw new Error(`${url} returned ${v.length} dimensions; search.dimensions is ${this.dimensions}`);
          return Float32Array.from(v);
        });
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }
}
