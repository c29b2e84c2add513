//! The runtime APIs the node calls, declared against the opaque block.
//!
//! The node always executes the runtime from its wasm (the chain's `:code`), so it needs only
//! the API declarations, not the runtime crate: these bodies are never run. Keeping the runtime
//! crate out of the node means a pallet or runtime change needs no native rebuild of it.

use sp_runtime::{
	generic,
	traits::{BlakeTwo256, Block as BlockT},
	OpaqueExtrinsic,
};

/// Block number type of our runtime.
pub type BlockNumber = u32;
/// The block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// The block with opaque extrinsics.
pub type Block = generic::Block<Header, OpaqueExtrinsic>;
/// Account identifier (`AccountId32`).
pub type AccountId = sp_runtime::AccountId32;
/// Account nonce.
pub type Nonce = u32;
/// Balance in plancks.
pub type Balance = u128;
/// Aura authority key.
pub type AuraId = sp_consensus_aura::sr25519::AuthorityId;

/// Stands for the runtime in the API declarations (never built: only its API types are used).
#[allow(dead_code)]
pub struct Runtime;

#[allow(unused_variables)]
mod declarations {
	use super::*;
	use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
	use sp_runtime::{
		transaction_validity::{TransactionSource, TransactionValidity},
		ApplyExtrinsicResult,
	};

	sp_api::impl_runtime_apis! {
		impl sp_api::Core<Block> for Runtime {
			fn version() -> sp_version::RuntimeVersion {
				unimplemented!("executed from the wasm")
			}
			fn execute_block(_: Block) {
				unimplemented!("executed from the wasm")
			}
			fn initialize_block(_: &<Block as BlockT>::Header) -> sp_runtime::ExtrinsicInclusionMode {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_api::Metadata<Block> for Runtime {
			fn metadata() -> OpaqueMetadata {
				unimplemented!("executed from the wasm")
			}
			fn metadata_at_version(_: u32) -> Option<OpaqueMetadata> {
				unimplemented!("executed from the wasm")
			}
			fn metadata_versions() -> Vec<u32> {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_block_builder::BlockBuilder<Block> for Runtime {
			fn apply_extrinsic(_: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
				unimplemented!("executed from the wasm")
			}
			fn finalize_block() -> <Block as BlockT>::Header {
				unimplemented!("executed from the wasm")
			}
			fn inherent_extrinsics(_: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
				unimplemented!("executed from the wasm")
			}
			fn check_inherents(_: Block, _: sp_inherents::InherentData) -> sp_inherents::CheckInherentsResult {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
			fn validate_transaction(
				_: TransactionSource,
				_: <Block as BlockT>::Extrinsic,
				_: <Block as BlockT>::Hash,
			) -> TransactionValidity {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
			fn offchain_worker(_: &<Block as BlockT>::Header) {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_session::SessionKeys<Block> for Runtime {
			fn generate_session_keys(_: Option<Vec<u8>>) -> Vec<u8> {
				unimplemented!("executed from the wasm")
			}
			fn decode_session_keys(_: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
			fn slot_duration() -> sp_consensus_aura::SlotDuration {
				unimplemented!("executed from the wasm")
			}
			fn authorities() -> Vec<AuraId> {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
			fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
				unimplemented!("executed from the wasm")
			}
			fn current_set_id() -> sp_consensus_grandpa::SetId {
				unimplemented!("executed from the wasm")
			}
			fn submit_report_equivocation_unsigned_extrinsic(
				_: sp_consensus_grandpa::EquivocationProof<<Block as BlockT>::Hash, BlockNumber>,
				_: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
			) -> Option<()> {
				unimplemented!("executed from the wasm")
			}
			fn generate_key_ownership_proof(
				_: sp_consensus_grandpa::SetId,
				_: sp_consensus_grandpa::AuthorityId,
			) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
				unimplemented!("executed from the wasm")
			}
		}

		impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
			fn account_nonce(_: AccountId) -> Nonce {
				unimplemented!("executed from the wasm")
			}
		}

		impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
			fn query_info(
				_: <Block as BlockT>::Extrinsic,
				_: u32,
			) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
				unimplemented!("executed from the wasm")
			}
			fn query_fee_details(
				_: <Block as BlockT>::Extrinsic,
				_: u32,
			) -> pallet_transaction_payment_rpc_runtime_api::FeeDetails<Balance> {
				unimplemented!("executed from the wasm")
			}
			fn query_weight_to_fee(_: sp_runtime::Weight) -> Balance {
				unimplemented!("executed from the wasm")
			}
			fn query_length_to_fee(_: u32) -> Balance {
				unimplemented!("executed from the wasm")
			}
		}

		impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
			fn build_state(_: Vec<u8>) -> sp_genesis_builder::Result {
				unimplemented!("executed from the wasm")
			}
			fn get_preset(_: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
				unimplemented!("executed from the wasm")
			}
			fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
				unimplemented!("executed from the wasm")
			}
		}
	}
}

pub use declarations::RuntimeApi;
