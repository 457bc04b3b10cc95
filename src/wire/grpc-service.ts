/**
 * The grpc-js definition of engram.v3.EngramService, built from the static protobufjs
 * code in src/generated (no .proto parsing at run time). Servers and the SDK's gRPC client
 * share it. The Subscribe response serializer also takes pre-encoded bytes: the server
 * encodes each frame once, however many subscribers it goes to.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { engram } from '../generated/engram.js';

import pb = engram.v3;

interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(data: Uint8Array): T;
}

const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Bytes of each decoded request, for size limits (a request is checked like an HTTP body). */
export const wireBytes = new WeakMap<object, number>();

/**
 * Requests whose bytes did not decode (invalid UTF-8 in a string, a truncated field, a bad wire
 * type), with why. A deserializer that throws makes grpc-js answer INTERNAL, as for a server
 * fault; instead such a request decodes to an empty message marked here, and the handler refuses
 * it as the client's error (INVALID_ARGUMENT, INVALID_FIELD).
 */
export const undecodable = new WeakMap<object, string>();

function method<Req extends object, Res extends object>(
  name: string,
  req: MessageType<Req>,
  res: MessageType<Res>,
  requestStream = false,
  responseStream = false,
): MethodDefinition<Req, Res | Buffer> {
  return {
    path: `/engram.v3.EngramService/${name}`,
    requestStream,
    responseStream,
    requestSerialize: (m: Req) => toBuffer(req.encode(m).finish()),
    requestDeserialize: (b: Buffer) => {
      let m: Req;
      try {
        m = req.decode(b);
      } catch (err) {
        const empty = req.decode(new Uint8Array(0));
        undecodable.set(empty, err instanceof Error ? err.message : String(err));
        return empty;
      }
      wireBytes.set(m, b.length);
      return m;
    },
    responseSerialize: (m: Res | Buffer) => (Buffer.isBuffer(m) ? m : toBuffer(res.encode(m).finish())),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

export const ENGRAM_SERVICE = {
  createWorkUnit: method('CreateWorkUnit', pb.CreateWorkUnitRequest, pb.CreateWorkUnitResponse),
  createWorkUnits: method('CreateWorkUnits', pb.CreateWorkUnitRequest, pb.WorkUnitAck, true, true),
  getWorkUnit: method('GetWorkUnit', pb.GetWorkUnitRequest, pb.WorkUnit),
  listWorkUnits: method('ListWorkUnits', pb.ListWorkUnitsRequest, pb.ListWorkUnitsResponse),
  getContext: method('GetContext', pb.GetContextRequest, pb.Context),
  updateContext: method('UpdateContext', pb.UpdateContextRequest, pb.Context),
  listContexts: method('ListContexts', pb.ListContextsRequest, pb.ListContextsResponse),
  deleteContext: method('DeleteContext', pb.DeleteContextRequest, pb.ContextDeletion),
  acquireLock: method('AcquireLock', pb.AcquireLockRequest, pb.AcquireLockResponse),
  renewLock: method('RenewLock', pb.RenewLockRequest, pb.Lock),
  releaseLock: method('ReleaseLock', pb.ReleaseLockRequest, pb.Lock),
  getLock: method('GetLock', pb.GetLockRequest, pb.Lock),
  search: method('Search', pb.SearchRequest, pb.SearchResponse),
  subscribe: method('Subscribe', pb.SubscribeRequest, pb.SubscribeEvent, false, true),
  getPresence: method('GetPresence', pb.GetPresenceRequest, pb.Presence),
  getWindow: method('GetWindow', pb.GetWindowRequest, pb.ContextWindow),
  forkContext: method('ForkContext', pb.ForkContextRequest, pb.Context),
  listForks: method('ListForks', pb.ListForksRequest, pb.ListForksResponse),
} satisfies ServiceDefinition;

/** Encodes a SubscribeEvent once, for the Subscribe stream. */
export const encodeEvent = (e: pb.ISubscribeEvent): Buffer => toBuffer(pb.SubscribeEvent.encode(e).finish());
