/** A full disk, as LevelDB reports it, and the error clients get for it. */
import { EngramError } from '../basics/errors.js';

export function isNoSpace(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ''} ${(err as { cause?: Error })?.cause?.message ?? ''}`;
  return /No space left|ENOSPC|disk full/i.test(text);
}

export function diskFull(): EngramError {
  return new EngramError('STORAGE_FULL', 'the disk holding the log is full; nothing was stored. Writes succeed again once space is freed');
}
