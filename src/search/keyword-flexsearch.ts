/**
 * Keyword retrieval with flexsearch: strict word tokens, the English preset (stemming,
 * stop words), ranked by flexsearch's relevance resolution. flexsearch ranks but does
 * not expose scores; the service reports rank-based keyword scores (docs/search.md).
 */
import { Charset, Encoder, Index } from 'flexsearch';
import EnglishPreset from 'flexsearch/lang/en';
import type { KeywordIndex } from './search-types.js';

/** One encoder for every index: it holds no per-index state. Encoder merges several option sets; its typings allow one. */
const MergingEncoder = Encoder as unknown as new (...options: unknown[]) => Encoder;
const english = new MergingEncoder(Charset.Default, EnglishPreset);

/**
 * The English encoder, remembering its last answer. The service asks for a unit's terms and
 * then adds its text, which flexsearch encodes again: the text costs one encoding, not two
 * (encoding is most of a keyword insert's CPU).
 */
const encoder = {
  lastText: undefined as string | undefined,
  lastTerms: [] as string[],
  rtl: false,
  /** Terms in order, each once: flexsearch asks for de-duplicated terms when it indexes. */
  encode(text: string): string[] {
    if (text !== this.lastText) {
      this.lastTerms = (english.encode as (text: string, dedupeTerms: boolean) => string[])(text, true);
      this.lastText = text;
    }
    return this.lastTerms;
  },
};

export class FlexKeywordIndex implements KeywordIndex {
  private readonly index = new Index({ tokenize: 'strict', encoder: encoder as unknown as Encoder, resolution: 9 });

  add(slot: number, text: string): void {
    this.index.add(slot, text);
  }

  terms(text: string): string[] {
    return encoder.encode(text);
  }

  search(query: string, limit: number): number[] {
    // suggest: documents matching some of the words count too, after those matching all of them.
    return this.index.search(query, { limit, suggest: true }) as number[];
  }
}
