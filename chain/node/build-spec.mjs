// Build the chain specs of the DecentralML runtime from its wasm, with the runtime's own
// genesis builder run in Chopsticks' wasm executor (no node binary needed).
//
//   node build-spec.mjs <runtime.wasm> <raw-spec.json> <plain-spec.json> [preset]
//
// raw:   genesis.raw.top = the storage GenesisBuilder_build_state writes for the preset
//        (the default config deep-merged with the preset patch), plus `:code`. For Chopsticks.
// plain: genesis.runtimeGenesis = { code, patch } for `polkadot-omni-node --chain <spec> --dev`.
// Output is deterministic (sorted keys) so that the committed artifacts diff cleanly.
import { readFileSync, writeFileSync } from 'node:fs';
import { runTask, destroyWorker } from '@acala-network/chopsticks-core';

const [wasmPath, rawPath, plainPath, preset = 'development'] = process.argv.slice(2);
if (!wasmPath || !rawPath || !plainPath) {
  console.error('usage: node build-spec.mjs <runtime.wasm> <raw.json> <plain.json> [preset]');
  process.exit(2);
}

const CODE_KEY = '0x3a636f6465'; // ":code"
const code = '0x' + readFileSync(wasmPath).toString('hex');

const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex');
const unhex = (h) => Buffer.from(h.slice(2), 'hex');

// SCALE compact length prefix.
function compact(n) {
  if (n < 1 << 6) return Buffer.from([n << 2]);
  if (n < 1 << 14) { const b = Buffer.alloc(2); b.writeUInt16LE((n << 2) | 1); return b; }
  if (n < 1 << 30) { const b = Buffer.alloc(4); b.writeUInt32LE(((n << 2) | 2) >>> 0); return b; }
  throw new Error('length too large');
}
const encodeBytes = (buf) => Buffer.concat([compact(buf.length), buf]);
function decodeCompact(buf, at) {
  const mode = buf[at] & 3;
  if (mode === 0) return [buf[at] >> 2, 1];
  if (mode === 1) return [buf.readUInt16LE(at) >> 2, 2];
  if (mode === 2) return [buf.readUInt32LE(at) >>> 2, 4];
  throw new Error('big compact not supported');
}
// Option<Vec<u8>> -> Buffer | null
function decodeOptionBytes(buf) {
  if (buf[0] === 0) return null;
  const [len, size] = decodeCompact(buf, 1);
  return buf.subarray(1 + size, 1 + size + len);
}

// A storage handler for a chain with no state yet: every read is empty.
const emptyStorage = {
  getStorage: async () => undefined,
  getNextKey: async () => undefined,
  offchainGetStorage: async () => undefined,
  offchainTimestamp: async () => Date.now(),
  offchainRandomSeed: async () => hex(Buffer.alloc(32)),
  offchainSubmitTransaction: async () => false,
};

async function call(method, args) {
  const res = await runTask(
    { wasm: code, calls: [[method, args]], mockSignatureHost: false, allowUnresolvedImports: false, runtimeLogLevel: 0 },
    emptyStorage,
  );
  if ('Error' in res) throw new Error(`${method}: ${res.Error}`);
  return res.Call;
}

function merge(base, patch) {
  if (patch && typeof patch === 'object' && !Array.isArray(patch) && base && typeof base === 'object' && !Array.isArray(base)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  return patch;
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

try {
  const none = hex([0]);
  const some = hex(Buffer.concat([Buffer.from([1]), encodeBytes(Buffer.from(preset))]));
  const defaults = JSON.parse(decodeOptionBytes(unhex((await call('GenesisBuilder_get_preset', [none])).result)).toString());
  const patchBytes = decodeOptionBytes(unhex((await call('GenesisBuilder_get_preset', [some])).result));
  if (!patchBytes) throw new Error(`the runtime has no genesis preset named "${preset}"`);
  const patch = JSON.parse(patchBytes.toString());
  const config = merge(defaults, patch);
  const built = await call('GenesisBuilder_build_state', [hex(encodeBytes(Buffer.from(JSON.stringify(config))))]);
  const result = unhex(built.result);
  if (result[0] !== 0) throw new Error(`GenesisBuilder_build_state failed: ${result.subarray(1).toString()}`);

  const top = {};
  for (const [k, v] of built.storageDiff) if (v !== null) top[k] = v;
  top[CODE_KEY] = code;

  const common = {
    name: 'DecentralML Development',
    id: 'decentralml_dev',
    chainType: 'Development',
    bootNodes: [],
    telemetryEndpoints: null,
    protocolId: 'decentralml',
    properties: { ss58Format: 42, tokenDecimals: 12, tokenSymbol: 'UNIT' },
    codeSubstitutes: {},
  };
  const raw = { ...common, genesis: { raw: { top: sortKeys(top), childrenDefault: {} } } };
  // polkadot-omni-node reads the parachain extension fields even for a --dev (manual seal) chain.
  const plain = { ...common, relay_chain: 'dev', para_id: 1000, genesis: { runtimeGenesis: { code, patch: sortKeys(patch) } } };
  writeFileSync(rawPath, JSON.stringify(raw, null, 2) + '\n');
  writeFileSync(plainPath, JSON.stringify(plain, null, 2) + '\n');
  console.log(`wrote ${rawPath} (${Object.keys(top).length} keys) and ${plainPath} (preset "${preset}")`);
} finally {
  await destroyWorker();
}
