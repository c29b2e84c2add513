// Rebuild the node when the runtime wasm it embeds (for the built-in `dev` and `local` specs)
// changes.
fn main() {
	println!("cargo:rerun-if-changed=../artifacts/decentralml_runtime.wasm");
}
