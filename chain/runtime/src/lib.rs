//! The DecentralML development runtime.
//!
//! System, Timestamp, Aura, GRANDPA, Balances, Sudo, TransactionPayment and the `DecentralMl`
//! pallet. Accounts are `AccountId32` verified by `MultiSignature`, so sr25519 and ed25519 keys
//! both sign.
//!
//! It runs on our node (`chain/node`): Aura block production (sr25519 authority keys, slots of
//! the length the chain spec sets: [`SlotDurationMs`]) and GRANDPA finality (ed25519 keys) on a network, or instant seal with `--dev`. It
//! still runs under Chopsticks (raw chain spec): Chopsticks builds blocks without an Aura
//! digest, which this runtime accepts because the timestamp is not tied to the Aura slot
//! (`OnTimestampSet = ()`); the node checks slots and timestamps when it imports blocks.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use frame::{
	deps::{
		sp_genesis_builder,
		sp_runtime::Perbill,
	},
	runtime::{apis, prelude::*},
};
use frame_support::{
	traits::VariantCountOf,
	weights::{
		constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		ConstantMultiplier, IdentityFee,
	},
	PalletId,
};
use pallet_transaction_payment::{FeeDetails, RuntimeDispatchInfo};
use frame::deps::sp_runtime::traits::{Block as BlockT, NumberFor};
use frame_support::traits::{ConstBool, ConstU64};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;

/// Milliseconds per Aura slot (one block per slot on a network of authorities) when the chain
/// spec sets none: 6 s, for authorities spread over the internet.
pub const SLOT_DURATION_MS: u64 = 6_000;

parameter_types! {
	/// Milliseconds per Aura slot, as this chain's genesis sets it: a chain spec may put a
	/// little-endian `u64` under `twox_128(b":SlotDurationMs:")` in its genesis storage (our
	/// `local` spec: 2 s, for authorities on one machine or in one data centre). Read by the
	/// node when it starts, so it is fixed for the life of a chain.
	pub storage SlotDurationMs: u64 = SLOT_DURATION_MS;
}

/// The session keys of an authority: its Aura (sr25519) and GRANDPA (ed25519) keys. Nodes put
/// them in their keystore (`author_rotateKeys`, `key insert`, or `--alice`/`--bob`/… in tests).
pub mod opaque {
	use super::*;

	frame::deps::sp_runtime::impl_opaque_keys! {
		pub struct SessionKeys {
			pub aura: super::Aura,
			pub grandpa: super::Grandpa,
		}
	}
}

/// Balance of an account, in plancks (10^-12 UNIT).
pub type Balance = u128;

/// Plancks per UNIT (12 decimals).
pub const UNIT: Balance = 1_000_000_000_000;
/// One thousandth of a UNIT.
pub const MILLI_UNIT: Balance = UNIT / 1_000;
/// The existential deposit: 0.001 UNIT.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;
/// What each development account holds at genesis: 1 000 000 UNIT.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * UNIT;

/// Genesis configuration presets.
pub mod genesis_config_presets {
	use super::*;
	use crate::{AuraConfig, BalancesConfig, GrandpaConfig, RuntimeGenesisConfig, SudoConfig};
	use alloc::vec;
	use serde_json::Value;
	use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

	/// The name of the local testnet preset.
	pub const LOCAL_TESTNET: &str = sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET;

	/// Alice, Bob, Charlie, Dave, Eve and Ferdie as sr25519 and as ed25519 accounts.
	pub fn dev_accounts() -> Vec<AccountId> {
		let sr = [
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
			Sr25519Keyring::Dave,
			Sr25519Keyring::Eve,
			Sr25519Keyring::Ferdie,
		];
		let ed = [
			Ed25519Keyring::Alice,
			Ed25519Keyring::Bob,
			Ed25519Keyring::Charlie,
			Ed25519Keyring::Dave,
			Ed25519Keyring::Eve,
			Ed25519Keyring::Ferdie,
		];
		sr.iter()
			.map(|k| k.to_account_id())
			.chain(ed.iter().map(|k| k.to_account_id()))
			.collect()
	}

	/// Genesis with these authorities (each one's Aura key is the sr25519 key and its GRANDPA
	/// key the ed25519 key of the same dev seed), the dev accounts funded with 1 000 000 UNIT
	/// each, sudo sr25519 Alice.
	pub fn genesis_with_authorities(authorities: &[Sr25519Keyring]) -> Value {
		let aura: Vec<AuraId> = authorities.iter().map(|k| AuraId::from(k.public())).collect();
		let grandpa: Vec<(GrandpaId, u64)> = authorities
			.iter()
			.map(|k| (GrandpaId::from(ed25519_twin(*k).public()), 1))
			.collect();
		frame_support::build_struct_json_patch!(RuntimeGenesisConfig {
			balances: BalancesConfig {
				balances: dev_accounts().into_iter().map(|a| (a, DEV_ENDOWMENT)).collect::<Vec<_>>(),
			},
			aura: AuraConfig { authorities: aura },
			grandpa: GrandpaConfig { authorities: grandpa },
			sudo: SudoConfig { key: Some(Sr25519Keyring::Alice.to_account_id()) },
		})
	}

	/// The ed25519 key of the same dev seed as this sr25519 key.
	fn ed25519_twin(k: Sr25519Keyring) -> Ed25519Keyring {
		match k {
			Sr25519Keyring::Alice => Ed25519Keyring::Alice,
			Sr25519Keyring::Bob => Ed25519Keyring::Bob,
			Sr25519Keyring::Charlie => Ed25519Keyring::Charlie,
			Sr25519Keyring::Dave => Ed25519Keyring::Dave,
			Sr25519Keyring::Eve => Ed25519Keyring::Eve,
			_ => Ed25519Keyring::Ferdie,
		}
	}

	/// Development genesis: one authority, Alice.
	pub fn development_config_genesis() -> Value {
		genesis_with_authorities(&[Sr25519Keyring::Alice])
	}

	/// Local testnet genesis: four authorities, Alice, Bob, Charlie and Dave (GRANDPA finalises
	/// with more than 2/3 of them, so the network survives one failure).
	pub fn local_testnet_genesis() -> Value {
		genesis_with_authorities(&[
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
			Sr25519Keyring::Dave,
		])
	}

	/// The preset with this name, as JSON bytes.
	pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
		let patch = match id.as_ref() {
			sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
			sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
			_ => return None,
		};
		Some(
			serde_json::to_string(&patch)
				.expect("serialization to json is expected to work. qed.")
				.into_bytes(),
		)
	}

	/// The presets this runtime offers.
	pub fn preset_names() -> Vec<PresetId> {
		vec![
			PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
			PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
		]
	}
}

/// The runtime version.
#[runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("decentralml"),
	impl_name: alloc::borrow::Cow::Borrowed("decentralml"),
	authoring_version: 1,
	spec_version: 1,
	impl_version: 1,
	apis: RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// The version information used to identify this runtime when compiled natively.
#[cfg(feature = "std")]
pub fn native_version() -> NativeVersion {
	NativeVersion { runtime_version: VERSION, can_author_with: Default::default() }
}

/// The transaction extensions: the usual checks and fee payment.
type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

#[frame_construct_runtime]
mod runtime {
	/// The DecentralML runtime.
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	/// Accounts, blocks, events.
	#[runtime::pallet_index(0)]
	pub type System = frame_system::Pallet<Runtime>;

	/// On-chain time (set by the block author's inherent).
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp::Pallet<Runtime>;

	/// Balances, holds (stakes) and transfers (escrow, rewards).
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances::Pallet<Runtime>;

	/// Privileged calls for the dev chain's operator.
	#[runtime::pallet_index(3)]
	pub type Sudo = pallet_sudo::Pallet<Runtime>;

	/// Transaction fees.
	#[runtime::pallet_index(4)]
	pub type TransactionPayment = pallet_transaction_payment::Pallet<Runtime>;

	/// Block authorship by slot (the authority set's sr25519 keys).
	#[runtime::pallet_index(5)]
	pub type Aura = pallet_aura::Pallet<Runtime>;

	/// Finality (the authority set's ed25519 keys).
	#[runtime::pallet_index(6)]
	pub type Grandpa = pallet_grandpa::Pallet<Runtime>;

	/// Federated-learning tasks: registry, rounds, votes, aggregates, escrowed rewards.
	#[runtime::pallet_index(10)]
	pub type DecentralMl = pallet_decentralml::Pallet<Runtime>;
}

/// Share of a block's weight and length available to normal (user) transactions.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const Version: RuntimeVersion = VERSION;
	/// 2 seconds of execution per block (the usual budget of a 6 s block), 75 % for users.
	pub RuntimeBlockWeights: frame_system::limits::BlockWeights =
		frame_system::limits::BlockWeights::with_sensible_defaults(
			Weight::from_parts(2 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
			NORMAL_DISPATCH_RATIO,
		);
	/// 5 MiB per block, 75 % for users.
	pub RuntimeBlockLength: frame_system::limits::BlockLength =
		frame_system::limits::BlockLength::max_with_normal_ratio(5 * 1024 * 1024, NORMAL_DISPATCH_RATIO);
	pub const SS58Prefix: u16 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type Version = Version;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type DbWeight = RocksDbWeight;
	type SS58Prefix = SS58Prefix;
	type AccountData = pallet_balances::AccountData<Balance>;
}

parameter_types! {
	pub const ExistentialDeposit: Balance = EXISTENTIAL_DEPOSIT;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Runtime {
	type Balance = Balance;
	type ExistentialDeposit = ExistentialDeposit;
	type AccountStore = System;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
}

#[derive_impl(pallet_sudo::config_preludes::TestDefaultConfig)]
impl pallet_sudo::Config for Runtime {}

/// `OnTimestampSet = ()` (the prelude's): the timestamp is not asserted against the Aura slot,
/// so Chopsticks and instant seal, which build blocks without an Aura digest, run this runtime.
#[derive_impl(pallet_timestamp::config_preludes::TestDefaultConfig)]
impl pallet_timestamp::Config for Runtime {}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = SlotDurationMs;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = frame::deps::sp_core::Void;
	type EquivocationReportSystem = ();
}

parameter_types! {
	/// Fee per byte of an extrinsic: 10^-6 UNIT.
	pub const TransactionByteFee: Balance = UNIT / 1_000_000;
}

#[derive_impl(pallet_transaction_payment::config_preludes::TestDefaultConfig)]
impl pallet_transaction_payment::Config for Runtime {
	/// Fees are burned.
	type OnChargeTransaction = pallet_transaction_payment::FungibleAdapter<Balances, ()>;
	/// One planck per picosecond of weight: a `commit_update` costs about 0.0006 UNIT.
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = ConstantMultiplier<Balance, TransactionByteFee>;
}

parameter_types! {
	pub const DmlPalletId: PalletId = PalletId(*b"dml/escr");
	pub const MinContributorStake: Balance = 10 * UNIT;
	pub const MinValidatorStake: Balance = 50 * UNIT;
	pub const MinRewardPerRound: Balance = UNIT;
	/// Runtime floor of a task's contributor bond.
	pub const MinContributorBond: Balance = UNIT;
	/// Runtime floor of a task's validator bond.
	pub const MinValidatorBond: Balance = 2 * UNIT;
	/// Of the bond, for silence (no revealed vote / unrevealed update commitment).
	pub const SilenceSlash: sp_runtime::Permill = sp_runtime::Permill::from_percent(10);
	/// Of the bond × the fraction of verdicts against the consensus.
	pub const VerdictSlash: sp_runtime::Permill = sp_runtime::Permill::from_percent(5);
	/// Of the bond, for proposing or attesting an aggregate that was not adopted.
	pub const LosingAttestSlash: sp_runtime::Permill = sp_runtime::Permill::from_percent(5);
	/// Of the bond, from a member that loses its seat for being idle `max_idle_rounds` rounds.
	pub const IdleSlash: sp_runtime::Permill = sp_runtime::Permill::from_percent(10);
	/// Storage deposit of a task, returned by `purge_task`.
	pub const TaskDeposit: Balance = UNIT;
	/// Relative distance to the consensus probe within which a verdict's probe is evidence:
	/// 1 000 ppm (0.1 %).
	pub const ProbeTolerance: sp_runtime::Permill = sp_runtime::Permill::from_parts(1_000);
}

impl pallet_decentralml::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type PalletId = DmlPalletId;
	type MinContributorStake = MinContributorStake;
	type MinValidatorStake = MinValidatorStake;
	type MinRewardPerRound = MinRewardPerRound;
	type MinContributorBond = MinContributorBond;
	type MinValidatorBond = MinValidatorBond;
	type MaxRetries = ConstU32<3>;
	type SilenceSlash = SilenceSlash;
	type VerdictSlash = VerdictSlash;
	type LosingAttestSlash = LosingAttestSlash;
	/// Basis points of score distance at which a validator's closeness reaches 0.
	type ScoreTolerance = ConstU32<1_000>;
	/// A verdict's probe is evidence of evaluation within 0.1 % of the consensus probe ...
	type ProbeTolerance = ProbeTolerance;
	/// ... or within 1 000 probe units (1e-9 each, so 1e-6) of it, whichever is wider.
	type ProbeFloor = ConstU32<1_000>;
	type TaskDeposit = TaskDeposit;
	type MaxContributors = ConstU32<1_024>;
	type MaxValidators = ConstU32<64>;
	type MaxVerdicts = ConstU32<1_024>;
	type MaxRounds = ConstU32<1_000>;
	/// One week of 6-second blocks.
	type MaxPhaseBlocks = ConstU32<100_800>;
	type MaxAllowListBatch = ConstU32<64>;
	/// A task may let a member be idle for at most 10 consecutive round attempts.
	type MaxIdleRounds = ConstU32<10>;
	type IdleSlash = IdleSlash;
	type WeightInfo = pallet_decentralml::weights::SubstrateWeight<Runtime>;
}

type Block = frame::runtime::types_common::BlockOf<Runtime, TxExtension>;
type Header = HeaderFor<Runtime>;

type RuntimeExecutive =
	Executive<Runtime, Block, frame_system::ChainContext<Runtime>, Runtime, AllPalletsWithSystem>;

impl_runtime_apis! {
	impl apis::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: Block) {
			RuntimeExecutive::execute_block(block)
		}

		fn initialize_block(header: &Header) -> ExtrinsicInclusionMode {
			RuntimeExecutive::initialize_block(header)
		}
	}

	impl apis::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl apis::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: ExtrinsicFor<Runtime>) -> ApplyExtrinsicResult {
			RuntimeExecutive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> HeaderFor<Runtime> {
			RuntimeExecutive::finalize_block()
		}

		fn inherent_extrinsics(data: InherentData) -> Vec<ExtrinsicFor<Runtime>> {
			data.create_extrinsics()
		}

		fn check_inherents(block: Block, data: InherentData) -> CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl apis::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: ExtrinsicFor<Runtime>,
			block_hash: <Runtime as frame_system::Config>::Hash,
		) -> TransactionValidity {
			RuntimeExecutive::validate_transaction(source, tx, block_hash)
		}
	}

	impl apis::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &HeaderFor<Runtime>) {
			RuntimeExecutive::offchain_worker(header)
		}
	}

	impl apis::SessionKeys<Block> for Runtime {
		fn generate_session_keys(seed: Option<Vec<u8>>) -> Vec<u8> {
			opaque::SessionKeys::generate(seed)
		}

		fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, apis::KeyTypeId)>> {
			opaque::SessionKeys::decode_into_raw_public_keys(&encoded)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
		fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
			Grandpa::grandpa_authorities()
		}

		fn current_set_id() -> sp_consensus_grandpa::SetId {
			Grandpa::current_set_id()
		}

		fn submit_report_equivocation_unsigned_extrinsic(
			_equivocation_proof: sp_consensus_grandpa::EquivocationProof<
				<Block as BlockT>::Hash,
				NumberFor<Block>,
			>,
			_key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
		) -> Option<()> {
			None
		}

		fn generate_key_ownership_proof(
			_set_id: sp_consensus_grandpa::SetId,
			_authority_id: GrandpaId,
		) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
			// No sessions, so no ownership proofs: equivocations are not reported on chain.
			None
		}
	}

	impl apis::AccountNonceApi<Block, interface::AccountId, interface::Nonce> for Runtime {
		fn account_nonce(account: interface::AccountId) -> interface::Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
		fn query_info(uxt: ExtrinsicFor<Runtime>, len: u32) -> RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_info(uxt, len)
		}
		fn query_fee_details(uxt: ExtrinsicFor<Runtime>, len: u32) -> FeeDetails<Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl apis::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, self::genesis_config_presets::get_preset)
		}

		fn preset_names() -> Vec<PresetId> {
			self::genesis_config_presets::preset_names()
		}
	}
}

/// Types the node side and tools need.
pub mod interface {
	use super::Runtime;

	pub type Block = super::Block;
	pub use frame::runtime::types_common::OpaqueBlock;
	pub type AccountId = <Runtime as frame_system::Config>::AccountId;
	pub type Nonce = <Runtime as frame_system::Config>::Nonce;
	pub type Hash = <Runtime as frame_system::Config>::Hash;
	pub type Balance = <Runtime as pallet_balances::Config>::Balance;
	pub type MinimumBalance = <Runtime as pallet_balances::Config>::ExistentialDeposit;
}

use interface::AccountId;

#[cfg(test)]
mod tests;
