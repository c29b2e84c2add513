//! The DecentralML node: our runtime (`chain/runtime`, executed from its wasm) with Aura block
//! production and GRANDPA finality, or instant/manual seal for a single development node.

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod runtime_api;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
