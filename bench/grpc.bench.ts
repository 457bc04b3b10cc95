/**
 * gRPC measured from a client that is not grpc-js: Debian's python3-grpcio (gRPC C-core), so
 * that the numbers are the server's, not the JavaScript client's. One Python process sends,
 * in alternating rounds: unary CreateWorkUnit to Engram, the same to a bare grpc-js server
 * that answers from memory (bench/bare-grpc-server.ts: grpc-js's own floor), and the same
 * unit as an HTTP POST to Engram over a raw socket. Then one CreateWorkUnits stream of many
 * units. Ratios are taken within a round; medians and spread over rounds are reported.
 *
 * Skipped, and said so, when /usr/bin/python3 has no grpc module (`apt-get install python3-grpcio`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { engram } from '../src/generated/engram.js';
import { ENGRAM_DURABILITY, startEngram } from './lib/engram-server.js';
import { announceProcess, describeSystem, emit, median, option, QUICK, quantity, size, TINY } from './lib/stats.js';

import pb = engram.v3;

const PYTHON = '/usr/bin/python3';
const CLIENT = resolve(import.meta.dirname, '../../bench/python/unary_client.py');
const ROUNDS = Number(option('rounds') ?? (TINY ? 1 : QUICK ? 2 : 5));
const COUNT = size(5000, 50, 1000);
const STREAM_UNITS = size(100_000, 500, 5000);

function pythonGrpc(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function startBareGrpc(): Promise<{ port: number; stop(): void }> {
  const proc = spawn(process.execPath, [resolve(import.meta.dirname, 'bare-grpc-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  announceProcess(proc.pid!, 'bare-grpc-server');
  process.once('exit', () => proc.kill('SIGKILL'));
  const port = await new Promise<number>((r) => proc.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
  return { port, stop: () => proc.kill('SIGTERM') };
}

function runClient(args: string[]): Promise<Record<string, Array<Record<string, number>>>> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(PYTHON, [CLIENT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    announceProcess(proc.pid!, 'python-grpc-client');
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`python client exited with ${code}`))));
  });
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

if (!pythonGrpc()) {
  process.stdout.write(`gRPC from a C-core client skipped: ${PYTHON} has no grpc module (apt-get install python3-grpcio)\n`);
} else {
  const server = await startEngram();
  const bare = await startBareGrpc();
  try {
    const text = 'a unit written from Python over gRPC and over HTTP, about two hundred bytes in all';
    const request = (contextId: string) =>
      Buffer.from(
        pb.CreateWorkUnitRequest.encode({ contextId, agentId: 'agent-1', type: pb.WorkUnitType.WORK_UNIT_TYPE_MESSAGE, payload: { json: JSON.stringify({ text }) } }).finish(),
      ).toString('hex');
    const body = Buffer.from(JSON.stringify({ contextId: 'py-http', agentId: 'agent-1', type: 'MESSAGE', payload: { text } })).toString('hex');
    const cases = { engram: `grpc:${server.grpcPort}`, floor: `grpc:${bare.port}`, http: `http:${server.port}` };
    const results = await runClient([String(ROUNDS), String(COUNT), `${cases.engram}:${request('py-grpc')}`, `${cases.floor}:${request('py-floor')}`, `${cases.http}:${body}`]);
    const label = { engram: 'Engram gRPC CreateWorkUnit', floor: 'bare grpc-js CreateWorkUnit (stores nothing)', http: 'Engram HTTP POST /workunit' } as const;
    for (const key of ['engram', 'floor', 'http'] as const) {
      const rounds = results[cases[key]]!;
      if (key === 'floor') describeSystem('floor', 'none (stores nothing)');
      else describeSystem('engram', ENGRAM_DURABILITY);
      emit(
        quantity('grpc-c-core', `${label[key]}, sequential, python3-grpcio client: p50`, Math.round(median(rounds.map((r) => r.p50!))), 'µs', undefined, {
          p99MedianUs: Math.round(median(rounds.map((r) => r.p99!))),
          p99MinUs: Math.round(Math.min(...rounds.map((r) => r.p99!))),
          p99MaxUs: Math.round(Math.max(...rounds.map((r) => r.p99!))),
          rounds: rounds.length,
          count: COUNT,
        }),
      );
    }
    describeSystem('engram', ENGRAM_DURABILITY);
    const ratio = (name: string, a: keyof typeof cases, b: keyof typeof cases, q: 'p50' | 'p99', target?: number) => {
      const values = results[cases[a]]!.map((r, i) => r[q]! / results[cases[b]]![i]![q]!);
      const extra: Record<string, number | boolean> = { min: r3(Math.min(...values)), max: r3(Math.max(...values)), rounds: values.length };
      if (target !== undefined) Object.assign(extra, { target, met: median(values) <= target });
      emit(quantity('ratios', name, r3(median(values)), '×', undefined, extra));
    };
    ratio('gRPC unary write p50 ÷ HTTP write p50 (python3-grpcio client)', 'engram', 'http', 'p50', 1.3);
    ratio('gRPC unary write p99 ÷ HTTP write p99 (python3-grpcio client)', 'engram', 'http', 'p99', 1.5);
    ratio('bare grpc-js p50 ÷ HTTP write p50 (python3-grpcio client): the floor of the first', 'floor', 'http', 'p50');
    ratio('bare grpc-js p99 ÷ HTTP write p99 (python3-grpcio client): the floor of the second', 'floor', 'http', 'p99');
    ratio('gRPC unary write p50 ÷ bare grpc-js p50 (python3-grpcio client)', 'engram', 'floor', 'p50');

    const stream = await runClient(['1', String(STREAM_UNITS), `stream:${server.grpcPort}:${request('py-stream')}`]);
    const s = stream[`stream:${server.grpcPort}`]![0]!;
    emit(
      quantity('grpc-c-core', `Engram CreateWorkUnits, one stream, ${STREAM_UNITS} units, python3-grpcio client`, s.unitsPerSecond!, 'units/s', undefined, {
        seconds: s.seconds!,
        acks: s.acks!,
      }),
    );
  } finally {
    bare.stop();
    await server.stop();
  }
}
