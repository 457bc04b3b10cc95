/**
 * Engram errors as gRPC statuses: the canonical code from the error catalog, the message
 * as the status details, and the stable code (and its details) in trailing metadata, so
 * a client branches on the same codes as over HTTP (docs/errors.md).
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { asEngramError, ERROR_CATALOG } from '../../basics/errors.js';

export const ERROR_CODE_KEY = 'engram-error-code';
export const ERROR_DETAILS_KEY = 'engram-error-details';

/**
 * JSON in printable ASCII: every other character as a \u escape (the same value once parsed). A
 * metadata value must be printable ASCII, and grpc-js throws on any other, out of the call's
 * callback: a lock held on a resource named in Unicode once took the server down that way.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^ -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function toServiceError(err: unknown, onInternal: (err: unknown) => void): Partial<ServiceError> {
  const e = asEngramError(err);
  if (e.code === 'INTERNAL') onInternal(err);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  if (e.details !== undefined) metadata.set(ERROR_DETAILS_KEY, asciiJson(e.details));
  return { code: status[ERROR_CATALOG[e.code].grpc], details: e.message, metadata };
}
