/** Builds search from the config: a worker thread running the index, and the indexer feeding it. */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import { Indexer } from '../search/indexer.js';
import type { Log } from '../engine/log.js';
import type { Config } from '../config/schema.js';
import { SearchWorkerHost } from '../search/search-host.js';
import { searchDimensions, type SearchSettings } from '../search/search-settings.js';

/** Where `make build` writes the offline embedder's word vectors. */
export const DEFAULT_WORD_VECTORS = resolve(import.meta.dirname, '../../models/wink-sg-100d.bin');

export interface SearchParts {
  host: SearchWorkerHost;
  indexer: Indexer;
  settings: SearchSettings;
  dimensions: number | undefined;
}

export function searchSettings(config: Config): SearchSettings {
  const s = config.search;
  return {
    embedder: s.embedder,
    embedderUrl: s.embedderUrl,
    embedderModel: s.embedderModel,
    embedderApiKey: s.embedderApiKey,
    dimensions: s.dimensions,
    vectorIndex: s.vectorIndex,
    metaKeys: s.metaKeys,
    wordVectors: s.wordVectors === '' ? DEFAULT_WORD_VECTORS : s.wordVectors,
    dataDir: config.storage.dataDir,
    // On NATS positions come from the stream sequence (storage/log-jetstream.ts): vectors saved
    // by position before that scheme would land on other units, so they have a folder of their own.
    snapshotDir: config.storage.backend === 'nats' ? 'search-stream' : 'search',
  };
}

export function createSearch(config: Config, log: Log, engine: Engine, logger: Logger): SearchParts {
  const settings = searchSettings(config);
  // Vectors saved under positions counted the old way (a node of an earlier version) are of no use any more.
  if (settings.snapshotDir !== 'search') rmSync(join(config.storage.dataDir, 'search'), { recursive: true, force: true });
  const host = new SearchWorkerHost(settings, (err) => logger.error({ err }, 'search worker failed'));
  const indexer = new Indexer(engine, log, host, {
    pageSize: 512,
    sliceUnits: 256,
    snapshotIntervalMs: config.search.snapshotIntervalMs,
    yieldAboveUtilization: config.search.yieldAbove < 100 ? config.search.yieldAbove / 100 : undefined,
    onError: (err) => logger.warn({ err }, 'search indexing failed; retrying'),
  });
  return { host, indexer, settings, dimensions: searchDimensions(settings) };
}

export { searchDimensions };
