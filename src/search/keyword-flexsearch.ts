/**
 * Keyword retrieval with flexsearch: strict word tokens, the English preset (stemming,
 * stop words), ranked by flexsearch's relevance resolution. flexsearch ranks but does
 * not expose scores; the service reports rank-based keyword scores (docs/search.md).
 */
import { Charset, Encoder, Index } from 'flexsearch';
import EnglishPreset from 'flexsearch/lang/en';
import type { KeywordIndex } from '../core/search-types.js';

/** One encoder for every index: it holds no per-index state. Encoder merges several option sets; its typings allow one. */
const MergingEncoder = Encoder as unknown as new (...options: unknown[]) => Encoder;
const encoder = new MergingEncoder(Charset.Default, EnglishPreset);

export class FlexKeywordIndex implements KeywordIndex {
  private readonly index = new Index({ tokenize: 'strict', encoder, resolution: 9 });

  add(slot: number, text: string): void {
    this.index.add(slot, text);
  }

  terms(text: string): string[] {
    return encoder.encode(text) as string[];
  }

  search(query: string, limit: number): number[] {
    // suggest: documents matching some of the words count too, after those matching all of them.
    return this.index.search(query, { limit, suggest: true }) as number[];
  }
}
