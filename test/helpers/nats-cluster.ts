/** The scale-out tests use the benchmark's NATS cluster helper. */
export { NATS_SERVER, NatsCluster, natsMissing } from '../../bench/lib/nats-cluster.js';
