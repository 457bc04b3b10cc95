/**
 * The most recent units of one context, as JSON text, for seqs start..start+length-1.
 * "The last 100 units" and a subscriber that is a little behind are served from here
 * without touching storage.
 */
export class UnitTail {
  /** Seq of items[0]; when empty, the seq the next pushed unit must have. */
  start: number;
  private items: string[] = [];
  bytes = 0;

  constructor(
    nextSeq: number,
    private readonly capacity: number,
  ) {
    this.start = nextSeq;
  }

  get end(): number {
    return this.start + this.items.length - 1;
  }

  get length(): number {
    return this.items.length;
  }

  /** Appends the unit with seq `end + 1`; returns the change in bytes held. */
  push(json: string): number {
    let delta = json.length;
    this.items.push(json);
    if (this.items.length > this.capacity) {
      delta -= this.items.shift()!.length;
      this.start++;
    }
    this.bytes += delta;
    return delta;
  }

  /** Adds units just older than the tail (seqs lo..start-1), as far as capacity allows; returns the change in bytes. */
  prepend(lo: number, jsons: string[]): number {
    if (lo + jsons.length !== this.start) return 0;
    const room = this.capacity - this.items.length;
    const take = jsons.slice(Math.max(0, jsons.length - room));
    let delta = 0;
    for (const j of take) delta += j.length;
    this.items = take.concat(this.items);
    this.start -= take.length;
    this.bytes += delta;
    return delta;
  }

  covers(lo: number): boolean {
    return lo >= this.start;
  }

  /** Units of seqs lo..hi (both within the tail). */
  slice(lo: number, hi: number): string[] {
    return this.items.slice(lo - this.start, hi - this.start + 1);
  }

  /** Drops the units below `seq` (at most the next seq: a trim never passes the head); returns the bytes freed. */
  dropBelow(seq: number): number {
    if (seq <= this.start) return 0;
    const n = Math.min(this.items.length, seq - this.start);
    let freed = 0;
    for (const json of this.items.splice(0, n)) freed += json.length;
    this.start += n;
    this.bytes -= freed;
    return freed;
  }

  /** Drops everything; returns the bytes freed. */
  clear(nextSeq: number): number {
    const freed = this.bytes;
    this.items = [];
    this.bytes = 0;
    this.start = nextSeq;
    return freed;
  }
}
