/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) that describes the Engram service only
 * once a client first asks. Building the descriptors (parsing proto/engram/v3/engram.proto and
 * encoding every type) took a fifth of a second of every server start, for a service that tools
 * such as grpcurl call now and then. The services are registered at start, as gRPC requires;
 * their implementation is made on the first call.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { status, type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';

/** Records what a ReflectionService registers, instead of registering it. */
function captured(reflection: ReflectionService): Array<{ service: ServiceDefinition; implementation: UntypedServiceImplementation }> {
  const services: Array<{ service: ServiceDefinition; implementation: UntypedServiceImplementation }> = [];
  reflection.addToServer({
    addService: (service: ServiceDefinition, implementation: UntypedServiceImplementation) => services.push({ service, implementation }),
  } as unknown as Server);
  return services;
}

/** `onError`: where a failure to describe the service is reported (the call itself ends UNAVAILABLE; the next one tries again). */
export function addLazyReflection(server: Server, protoPath: string, onError: (err: unknown) => void): void {
  // A missing proto is an install fault: it shows at start, as when reflection was built there.
  if (!existsSync(protoPath)) throw new Error(`gRPC reflection: ${protoPath} is missing`);
  // An empty package costs nothing to describe; it yields the two reflection services' definitions.
  const shapes = captured(new ReflectionService({}));
  let real: ReturnType<typeof captured> | undefined;
  const implementations = async () => {
    if (real === undefined) {
      const { loadSync } = await import('@grpc/proto-loader');
      const definition = loadSync(protoPath, { includeDirs: [fileURLToPath(new URL('../../../../proto', import.meta.url))] });
      real = captured(new ReflectionService(definition));
    }
    return real;
  };
  shapes.forEach(({ service }, i) => {
    const handlers: UntypedServiceImplementation = {};
    for (const name of Object.keys(service)) {
      // Every reflection method is one bidirectional stream: hand the call to the real handler.
      handlers[name] = ((call: { destroy(err: Error): void }) => {
        implementations().then(
          (r) => (r[i]!.implementation[name] as (c: unknown) => void)(call),
          (err: unknown) => {
            onError(err);
            call.destroy(Object.assign(new Error('server reflection is not available on this server'), { code: status.UNAVAILABLE }));
          },
        );
      }) as UntypedServiceImplementation[string];
    }
    server.addService(service, handlers);
  });
}
