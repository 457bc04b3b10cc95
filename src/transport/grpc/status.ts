/**
 * Engram errors as gRPC statuses: the canonical code from the error catalog, the message
 * as the status details, and the stable code (and its details) in trailing metadata, so
 * a client branches on the same codes as over HTTP (docs/errors.md).
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { asEngramError, ERROR_CATALOG } from '../../basics/errors.js';

export const ERROR_CODE_KEY = 'engram-error-code';
export const ERROR_DETAILS_KEY = 'engram-error-details';

export function toServiceError(err: unknown, onInternal: (err: unknown) => void): Partial<ServiceError> {
  const e = asEngramError(err);
  if (e.code === 'INTERNAL') onInternal(err);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  if (e.details !== undefined) metadata.set(ERROR_DETAILS_KEY, JSON.stringify(e.details));
  return { code: status[ERROR_CATALOG[e.code].grpc], details: e.message, metadata };
}
