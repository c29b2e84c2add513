// Check a running DecentralML dev chain with polkadot.js, a client independent of the
// project's Python stack: metadata, the eleven DecentralMl calls, a signed `register` by
// ed25519 Ferdie and a `create_task` by sr25519 Ferdie, read back from storage and events.
//
//   node check-polkadotjs.mjs [ws://127.0.0.1:9944]
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { cryptoWaitReady, blake2AsHex } from '@polkadot/util-crypto';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const CALLS = ['register', 'deregister', 'create_task', 'join_task', 'cancel_task', 'commit_update',
  'reveal_update', 'commit_vote', 'propose_aggregate', 'attest_aggregate', 'finalize_round',
  'reveal_vote', 'leave_task', 'set_allowed', 'purge_task'];
const UNIT = 10n ** 12n;

function send(api, tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const err = dispatchError.isModule ? api.registry.findMetaError(dispatchError.asModule) : dispatchError;
        reject(new Error(`${err.section ?? ''}.${err.name ?? err.toString()}`));
      } else if (status.isInBlock) {
        resolve(events.map(({ event }) => `${event.section}.${event.method}`));
      }
    }).catch(reject);
  });
}

await cryptoWaitReady();
const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
try {
  const version = api.runtimeVersion;
  console.log(`connected: ${version.specName} spec ${version.specVersion}`);
  const calls = Object.keys(api.tx.decentralMl).map((c) => c.replace(/[A-Z]/g, (m) => '_' + m.toLowerCase())).sort();
  if (JSON.stringify(calls) !== JSON.stringify([...CALLS].sort())) throw new Error(`calls: ${calls}`);
  console.log('DecentralMl calls:', calls.join(', '));

  const ed = new Keyring({ type: 'ed25519' }).addFromUri('//Ferdie');
  const sr = new Keyring({ type: 'sr25519' }).addFromUri('//Ferdie');
  const before = await api.query.decentralMl.participants(ed.address);
  if (before.isNone || before.unwrap().contributorStake.isNone) {
    const events = await send(api, api.tx.decentralMl.register('Contributor', 10n * UNIT, '0x' + '33'.repeat(32)), ed);
    if (!events.includes('decentralMl.Registered')) throw new Error(`events: ${events}`);
  }
  console.log('ed25519 Ferdie:', (await api.query.decentralMl.participants(ed.address)).toHuman());

  const taskId = (await api.query.decentralMl.nextTaskId()).toNumber();
  const spec = {
    modelCid: '0x' + Buffer.from('bafy-polkadotjs').toString('hex'), modelHash: blake2AsHex('m0'),
    rounds: 2, minContributors: 1, maxContributors: 4, maxValidators: 4, quorum: 500_000,
    minValidators: 1, rewardPerRound: 2n * UNIT, validatorShare: 100_000,
    rule: { TrimmedMean: { beta: 100_000 } }, serverOptimizer: 'None', maxExamples: 1000,
    exampleWeighting: 'Claimed', minImprovement: 0,
    contributorBond: 1n * UNIT, validatorBond: 2n * UNIT, admission: { MinReputation: 400 },
    enrolBlocks: 10, commitBlocks: 50, revealBlocks: 50, voteBlocks: 50, voteRevealBlocks: 50,
    attestBlocks: 50, maxRetries: 2, private: true,
  };
  const events = await send(api, api.tx.decentralMl.createTask(spec), sr);
  if (!events.includes('decentralMl.TaskCreated')) throw new Error(`events: ${events}`);
  const task = (await api.query.decentralMl.tasks(taskId)).unwrap();
  console.log(`task ${taskId}:`, task.status.toString(), task.phase.toString(), 'escrow', task.escrow.toString(),
    'rule', task.spec.rule.toString(), 'weighting', task.spec.exampleWeighting.toString());
  if (task.spec.exampleWeighting.toString() !== 'Claimed') throw new Error('example weighting not stored');
  console.log('OK');
} finally {
  await api.disconnect();
}
