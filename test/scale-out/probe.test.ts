import { test } from 'node:test';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsCluster } from '../helpers/nats-cluster.js';
test('probe', { timeout: 120000 }, async () => {
  const cluster = await NatsCluster.start(3);
  const ncA = await connect({ servers: cluster.urls[0] });
  const ncB = await connect({ servers: cluster.urls[1] });
  let jsm;
  for (let i = 0; ; i++) { try { jsm = await jetstreamManager(ncA); await jsm.streams.add({ name: 'P', subjects: ['p.>'], storage: StorageType.File, num_replicas: 3 }); break; } catch (e) { if (i > 100) throw e; await new Promise(r => setTimeout(r, 200)); } }
  const ja = jetstream(ncA), jb = jetstream(ncB);
  let both = 0, one = 0, none = 0, bothN = 0;
  for (let i = 0; i < 200; i++) {
    const s = `p.k${i}`;
    const r = await Promise.allSettled([ja.publish(s, 'a', { expect: { lastSubjectSequence: 0 } }), jb.publish(s, 'b', { expect: { lastSubjectSequence: 0 } })]);
    const ok = r.filter(x => x.status === 'fulfilled').length;
    if (ok === 2) both++; else if (ok === 1) one++; else none++;
    // nonzero expected
    const first = await ja.publish(`p.n${i}`, 'x');
    const r2 = await Promise.allSettled([ja.publish(`p.n${i}`, 'a', { expect: { lastSubjectSequence: first.seq } }), jb.publish(`p.n${i}`, 'b', { expect: { lastSubjectSequence: first.seq } })]);
    if (r2.filter(x => x.status === 'fulfilled').length === 2) bothN++;
  }
  let bothL = 0;
  for (let i = 0; i < 200; i++) {
    const info = await jsm.streams.info('P');
    const last = info.state.last_seq;
    const r3 = await Promise.allSettled([ja.publish(`p.l${i}`, 'a', { expect: { lastSequence: last } }), jb.publish(`p.m${i}`, 'b', { expect: { lastSequence: last } })]);
    if (r3.filter(x => x.status === 'fulfilled').length === 2) bothL++;
  }
  console.log({ both, one, none, bothN, bothL });
  await ncA.close(); await ncB.close(); await cluster.stop();
});
