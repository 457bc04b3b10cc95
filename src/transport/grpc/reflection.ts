/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) that describes the Engram service only
 * once a client first asks. Building the descriptors (parsing proto/engram/v3/engram.proto and
 * encoding every type) took a fifth of a second of every server start, for a service that tools
 * such as grpcurl call now and then. The services are registered at start, as gRPC requires;
 * their implementation is made on the first call.
 */
import { fileURLToPath } from 'node:url';
import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';

/** Records what a ReflectionService registers, instead of registering it. */
function captured(reflection: ReflectionService): Array<{ service: ServiceDefinition; implementation: UntypedServiceImplementation }> {
  const services: Array<{ service: ServiceDefinition; implementation: UntypedServiceImplementation }> = [];
  reflection.addToServer({ addService: (service: ServiceDefinition, implementation: UntypedServiceImplementation) => services.push({ service, implementation }) } as unknown as Server);
  return services;
}

export function addLazyReflection(server: Server, protoPath: string): void {
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
      handlers[name] = ((call: unknown) => {
        void implementations().then((r) => (r[i]!.implementation[name] as (c: unknown) => void)(call));
      }) as UntypedServiceImplementation[string];
    }
    server.addService(service, handlers);
  });
}
