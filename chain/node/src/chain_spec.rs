//! The built-in chain specs: `dev` (one authority, Alice) and `local` (Alice, Bob, Charlie and
//! Dave: four authorities, so GRANDPA, which needs more than 2/3 of them, survives one failure),
//! both from the runtime wasm and the runtime's genesis presets. Any other `--chain` value is a
//! chain-spec JSON file (chain/artifacts/chain-spec-*.raw.json).
//!
//! The wasm is read when a built-in spec is asked for — `$DML_RUNTIME_WASM`, else
//! chain/artifacts/decentralml_runtime.wasm of the checkout the node was built from — not
//! embedded: a new runtime needs no rebuild of the node.

use sc_service::ChainType;
use std::path::PathBuf;

/// The chain spec type of this node (no extensions).
pub type ChainSpec = sc_service::GenericChainSpec;

fn runtime_wasm() -> Result<Vec<u8>, String> {
	let path = std::env::var_os("DML_RUNTIME_WASM").map(PathBuf::from).unwrap_or_else(|| {
		PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../artifacts/decentralml_runtime.wasm"))
	});
	std::fs::read(&path).map_err(|e| {
		format!(
			"cannot read the runtime wasm {}: {e}; set DML_RUNTIME_WASM, or pass --chain a \
			 chain-spec file (chain/artifacts/chain-spec-*.raw.json)",
			path.display()
		)
	})
}

fn properties() -> sc_chain_spec::Properties {
	let mut p = sc_chain_spec::Properties::new();
	p.insert("ss58Format".into(), 42.into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("tokenSymbol".into(), "UNIT".into());
	p
}

/// One authority (Alice): run it with `--dev` (instant seal) or `--alice` (Aura + GRANDPA).
pub fn development() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(&runtime_wasm()?, None)
		.with_name("DecentralML Development")
		.with_id("decentralml_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// Four authorities (Alice, Bob, Charlie, Dave): a local network of four nodes that keeps
/// finalising with one of them down.
pub fn local_testnet() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(&runtime_wasm()?, None)
		.with_name("DecentralML Local Testnet")
		.with_id("decentralml_local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}
