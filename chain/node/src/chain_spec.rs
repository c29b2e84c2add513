//! The built-in chain specs: `dev` (one authority, Alice) and `local` (Alice, Bob and Charlie),
//! both from the runtime wasm in chain/artifacts and the runtime's genesis presets. Any other
//! `--chain` value is a chain-spec JSON file (chain/artifacts/chain-spec-*.raw.json).

use sc_service::ChainType;

/// The chain spec type of this node (no extensions).
pub type ChainSpec = sc_service::GenericChainSpec;

/// The runtime, as committed in chain/artifacts (built by `make runtime`).
const RUNTIME_WASM: &[u8] = include_bytes!("../../artifacts/decentralml_runtime.wasm");

fn properties() -> sc_chain_spec::Properties {
	let mut p = sc_chain_spec::Properties::new();
	p.insert("ss58Format".into(), 42.into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("tokenSymbol".into(), "UNIT".into());
	p
}

/// One authority (Alice): run it with `--dev` (instant seal) or `--alice` (Aura + GRANDPA).
pub fn development() -> ChainSpec {
	ChainSpec::builder(RUNTIME_WASM, None)
		.with_name("DecentralML Development")
		.with_id("decentralml_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build()
}

/// Three authorities (Alice, Bob, Charlie): a local network of three nodes.
pub fn local_testnet() -> ChainSpec {
	ChainSpec::builder(RUNTIME_WASM, None)
		.with_name("DecentralML Local Testnet")
		.with_id("decentralml_local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build()
}
