/**
 * Vector snapshots as files: <dir>/<client>.vectors, a small JSON header line then the
 * positions (float64) and the vectors (float32). Written to a temporary file and
 * renamed, so a crash mid-write leaves the previous snapshot whole.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VectorSnapshot, VectorSnapshots } from './search-types.js';

const FORMAT = 1;

interface Header {
  format: number;
  embedderId: string;
  dimensions: number;
  position: number;
  count: number;
}

export class FileVectorSnapshots implements VectorSnapshots {
  constructor(private readonly dir: string) {}

  private file(clientId: string): string {
    return join(this.dir, `${Buffer.from(clientId).toString('base64url')}.vectors`);
  }

  load(clientId: string, embedderId: string, dimensions: number): VectorSnapshot | undefined {
    let data: Buffer;
    try {
      data = readFileSync(this.file(clientId));
    } catch {
      return undefined;
    }
    const nl = data.indexOf(10);
    if (nl === -1) return undefined;
    let header: Header;
    try {
      header = JSON.parse(data.toString('utf8', 0, nl)) as Header;
    } catch {
      return undefined;
    }
    // Another model or another size of vector: start afresh rather than mix spaces.
    if (header.format !== FORMAT || header.embedderId !== embedderId || header.dimensions !== dimensions) return undefined;
    const body = nl + 1;
    const posBytes = header.count * 8;
    if (data.length !== body + posBytes + header.count * dimensions * 4) return undefined;
    const copy = new Uint8Array(data.subarray(body)); // aligned copy for the typed-array views
    return {
      position: header.position,
      positions: new Float64Array(copy.buffer, 0, header.count),
      vectors: new Float32Array(copy.buffer, posBytes, header.count * dimensions),
    };
  }

  remove(clientId: string): void {
    rmSync(this.file(clientId), { force: true });
  }

  save(clientId: string, embedderId: string, dimensions: number, snapshot: VectorSnapshot): void {
    mkdirSync(this.dir, { recursive: true });
    const header: Header = { format: FORMAT, embedderId, dimensions, position: snapshot.position, count: snapshot.positions.length };
    const target = this.file(clientId);
    const tmp = `${target}.tmp`;
    writeFileSync(
      tmp,
      Buffer.concat([
        Buffer.from(`${JSON.stringify(header)}\n`),
        Buffer.from(snapshot.positions.buffer, snapshot.positions.byteOffset, snapshot.positions.byteLength),
        Buffer.from(snapshot.vectors.buffer, snapshot.vectors.byteOffset, snapshot.vectors.byteLength),
      ]),
    );
    renameSync(tmp, target);
  }
}
