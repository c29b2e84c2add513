//! A tiny test runtime: System, Balances (existential deposit 10) and DecentralMl.

use crate as pallet_decentralml;
use frame_support::{derive_impl, parameter_types, traits::ConstU32, PalletId};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage, Permill};

pub type AccountId = AccountId32;
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

pub const ED: Balance = 10;
pub const MIN_CONTRIBUTOR_STAKE: Balance = 100;
pub const MIN_VALIDATOR_STAKE: Balance = 200;
pub const MIN_REWARD: Balance = 1_000;
pub const MIN_CONTRIBUTOR_BOND: Balance = 50;
pub const MIN_VALIDATOR_BOND: Balance = 100;
pub const TASK_DEPOSIT: Balance = 100;
pub const SCORE_TOLERANCE: u32 = 1_000;
/// Probe units (1e-9) within which a probe always counts as evidence.
pub const PROBE_FLOOR: u32 = 1_000;
pub const ENDOWMENT: Balance = 1_000_000;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		DecentralMl: pallet_decentralml,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

parameter_types! {
	pub const ExistentialDeposit: Balance = ED;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ExistentialDeposit;
	type AccountStore = System;
}

parameter_types! {
	pub const DmlPalletId: PalletId = PalletId(*b"dml/escr");
	pub const MinContributorStake: Balance = MIN_CONTRIBUTOR_STAKE;
	pub const MinValidatorStake: Balance = MIN_VALIDATOR_STAKE;
	pub const MinRewardPerRound: Balance = MIN_REWARD;
	pub const MinContributorBond: Balance = MIN_CONTRIBUTOR_BOND;
	pub const MinValidatorBond: Balance = MIN_VALIDATOR_BOND;
	pub const SilenceSlash: Permill = Permill::from_percent(10);
	pub const VerdictSlash: Permill = Permill::from_percent(5);
	pub const LosingAttestSlash: Permill = Permill::from_percent(5);
	pub const TaskDeposit: Balance = TASK_DEPOSIT;
	pub const IdleSlash: Permill = Permill::from_percent(10);
	/// 0.1 % of the consensus probe.
	pub const ProbeTolerance: Permill = Permill::from_parts(1_000);
}

impl pallet_decentralml::Config for Test {
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
	type ScoreTolerance = ConstU32<SCORE_TOLERANCE>;
	type ProbeTolerance = ProbeTolerance;
	type ProbeFloor = ConstU32<PROBE_FLOOR>;
	type TaskDeposit = TaskDeposit;
	type MaxContributors = ConstU32<1_024>;
	type MaxValidators = ConstU32<64>;
	type MaxVerdicts = ConstU32<1_024>;
	type MaxRounds = ConstU32<1_000>;
	type MaxPhaseBlocks = ConstU32<100_000>;
	type MaxAllowListBatch = ConstU32<64>;
	type MaxIdleRounds = ConstU32<10>;
	type IdleSlash = IdleSlash;
	type WeightInfo = ();
}

/// Account `n` (all bytes `n`).
pub fn acc(n: u8) -> AccountId {
	AccountId32::new([n; 32])
}

/// Accounts 1..=60 endowed with `ENDOWMENT`; block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=60u8).map(|n| (acc(n), ENDOWMENT)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` in a fresh [`new_test_ext`], then checks the pallet's invariants
/// ([`crate::Pallet::do_try_state`]): every test of the pallet ends with them.
pub fn build_and_execute<R>(test: impl FnOnce() -> R) -> R {
	new_test_ext().execute_with(|| {
		let result = test();
		DecentralMl::do_try_state().expect("the pallet's invariants hold at the end of the test");
		result
	})
}
