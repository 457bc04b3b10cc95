/**
 * Monotonic ULIDs: 48 bits of milliseconds then 80 random bits, Crockford base32,
 * 26 characters. Within one millisecond the random part is incremented, so ids
 * from one process sort in the order they were made, which is commit order.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_POOL = new Uint8Array(4096);
let poolOffset = RANDOM_POOL.length;

function randomBytes10(into: Uint8Array): void {
  if (poolOffset + 10 > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    poolOffset = 0;
  }
  into.set(RANDOM_POOL.subarray(poolOffset, poolOffset + 10));
  poolOffset += 10;
}

export class UlidFactory {
  private lastTime = -1;
  private readonly random = new Uint8Array(10);

  /** Returns a ULID for `now` (ms), strictly greater than every earlier one from this factory. */
  next(now: number): string {
    if (now > this.lastTime) {
      this.lastTime = now;
      randomBytes10(this.random);
    } else {
      // Same (or an earlier, if the clock stepped back) millisecond: keep the last time, count up.
      let i = 9;
      while (i >= 0 && this.random[i] === 255) this.random[i--] = 0;
      if (i < 0) throw new Error('ULID random space exhausted within one millisecond');
      this.random[i]!++;
    }
    return encodeTime(this.lastTime) + encodeRandom(this.random);
  }
}

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/** 80 bits as 16 base32 digits, most significant first. */
function encodeRandom(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** The millisecond time inside a ULID. */
export function ulidTime(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + ALPHABET.indexOf(id[i]!);
  return t;
}

/**
 * A new epoch of a log's history: a random name. A log gets one when it is created and a new
 * one whenever its history may no longer be the one its readers saw (restored from a backup,
 * repaired), so a reader resuming with an old epoch is told that its seqs no longer mean what
 * they meant.
 */
export function newEpoch(): string {
  const bytes = new Uint8Array(6);
  randomFillSync(bytes);
  return Buffer.from(bytes).toString('hex');
}
