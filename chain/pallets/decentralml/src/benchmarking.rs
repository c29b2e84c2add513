//! Benchmarks of the DecentralMl calls (frame-benchmarking v2), each in its worst case: the
//! call that closes a phase, `reveal_vote` with `v` verdicts, `finalize_round` paying `s`
//! contributors and `v` validators and ending the task, `purge_task` removing `k` keys.
//!
//! `cargo test -p pallet-decentralml --features runtime-benchmarks` runs them once per bound in
//! the mock runtime. The runtime's weights are still the derived ones of `weights.rs` (see
//! `docs/chain.md`): measuring these benchmarks needs a benchmarking node or
//! `frame-omni-bencher`, neither of which the development machines have.

use super::*;
use crate::Pallet as DecentralMl;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{
		fungible::{Inspect, Mutate},
		Get,
	},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_arithmetic::Permill;
use sp_core::H256;
use sp_runtime::traits::{Saturating, Zero};

const SEED: u32 = 0;
const SALT: [u8; 32] = [7; 32];

fn bond<T: Config>(role: Role) -> BalanceOf<T> {
	match role {
		Role::Contributor => T::MinContributorBond::get().max(1u32.into()),
		Role::Validator => T::MinValidatorBond::get().max(1u32.into()),
	}
}

fn endowment<T: Config>() -> BalanceOf<T> {
	T::MinValidatorStake::get()
		.saturating_add(T::MinContributorStake::get())
		.saturating_add(T::MinRewardPerRound::get())
		.saturating_add(bond::<T>(Role::Validator))
		.saturating_add(bond::<T>(Role::Contributor))
		.saturating_add(T::TaskDeposit::get())
		.saturating_add(T::Currency::minimum_balance())
		.saturating_mul(100u32.into())
}

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, SEED);
	T::Currency::set_balance(&who, endowment::<T>());
	who
}

fn cid(s: &[u8]) -> Cid {
	s.to_vec().try_into().expect("short CID")
}

fn bench_spec<T: Config>(max_contributors: u32, max_validators: u32) -> TaskSpecOf<T> {
	TaskSpec {
		model_cid: cid(b"bafy-bench-model"),
		model_hash: H256::repeat_byte(1),
		rounds: 1,
		min_contributors: 1,
		max_contributors: max_contributors.max(1),
		max_validators: max_validators.max(1),
		quorum: Permill::from_percent(50),
		min_validators: 1,
		reward_per_round: T::MinRewardPerRound::get().max(T::Currency::minimum_balance()),
		validator_share: Permill::from_percent(20),
		rule: AggregationRule::FedAvg,
		server_optimizer: ServerOptimizer::None,
		max_examples: 1_000,
		example_weighting: ExampleWeighting::MedianCapped,
		min_improvement: 0,
		contributor_bond: bond::<T>(Role::Contributor),
		validator_bond: bond::<T>(Role::Validator),
		admission: Admission::Open,
		enrol_blocks: 1,
		commit_blocks: 10,
		reveal_blocks: 10,
		vote_blocks: 10,
		vote_reveal_blocks: 10,
		attest_blocks: 10,
		max_retries: 0,
		private: false,
		max_idle_rounds: 0,
		cohort: 0,
		committee: 0,
		audit: Permill::zero(),
	}
}

struct Setup<T: Config> {
	id: TaskId,
	creator: T::AccountId,
	contributors: Vec<T::AccountId>,
	validators: Vec<T::AccountId>,
}

fn join<T: Config>(id: TaskId, name: &'static str, i: u32, role: Role) -> T::AccountId {
	let who = funded::<T>(name, i);
	let stake = match role {
		Role::Contributor => T::MinContributorStake::get(),
		Role::Validator => T::MinValidatorStake::get(),
	};
	DecentralMl::<T>::register(RawOrigin::Signed(who.clone()).into(), role, stake, [0; 32])
		.expect("registered");
	DecentralMl::<T>::join_task(RawOrigin::Signed(who.clone()).into(), id, role, bond::<T>(role))
		.expect("joined");
	who
}

/// A task with `c` contributors and `v` validators registered and joined (seats for
/// `c` and `v` + `extra_v`); round 0 is in `Commit` when `c`, `v` ≥ 1 and no seat is left.
fn setup<T: Config>(c: u32, v: u32, extra_v: u32) -> Setup<T> {
	frame_system::Pallet::<T>::set_block_number(1u32.into());
	let creator = funded::<T>("creator", 0);
	let id = NextTaskId::<T>::get();
	DecentralMl::<T>::create_task(
		RawOrigin::Signed(creator.clone()).into(),
		bench_spec::<T>(c, v + extra_v),
	)
	.expect("task created");
	let contributors = (0..c).map(|i| join::<T>(id, "contributor", i, Role::Contributor)).collect();
	let validators = (0..v).map(|i| join::<T>(id, "validator", i, Role::Validator)).collect();
	Setup { id, creator, contributors, validators }
}

/// Ends enrolment (its one block passes) by a call that advances the task.
fn open<T: Config>(s: &Setup<T>) {
	frame_system::Pallet::<T>::set_block_number(10u32.into());
	let mut task = Tasks::<T>::get(s.id).expect("task");
	DecentralMl::<T>::advance(s.id, &mut task);
	Tasks::<T>::insert(s.id, task);
}

fn update_hash(i: u32) -> H256 {
	H256::from_low_u64_be(i as u64 + 1)
}

fn commit_all<T: Config>(s: &Setup<T>) {
	for (i, who) in s.contributors.iter().enumerate() {
		let c = DecentralMl::<T>::update_commitment(s.id, 0, 0, who, &update_hash(i as u32), 100, &SALT);
		DecentralMl::<T>::commit_update(RawOrigin::Signed(who.clone()).into(), s.id, 0, c)
			.expect("committed");
	}
}

fn reveal_all<T: Config>(s: &Setup<T>) {
	for (i, who) in s.contributors.iter().enumerate() {
		DecentralMl::<T>::reveal_update(
			RawOrigin::Signed(who.clone()).into(),
			s.id,
			0,
			cid(b"bafy-update"),
			update_hash(i as u32),
			100,
			SALT,
		)
		.expect("revealed");
	}
}

fn accept_all(n: u32) -> Vec<Verdict> {
	(0..n).map(|i| Verdict { submission: i, accept: true, score: 9_000, probe: 500_000_000 }).collect()
}

fn commit_votes<T: Config>(s: &Setup<T>) {
	let n = s.contributors.len() as u32;
	for who in s.validators.iter() {
		let c = DecentralMl::<T>::vote_commitment(s.id, 0, 0, who, &accept_all(n), &SALT);
		DecentralMl::<T>::commit_vote(RawOrigin::Signed(who.clone()).into(), s.id, 0, c)
			.expect("vote committed");
	}
}

fn reveal_votes<T: Config>(s: &Setup<T>) {
	let n = s.contributors.len() as u32;
	for who in s.validators.iter() {
		DecentralMl::<T>::reveal_vote(RawOrigin::Signed(who.clone()).into(), s.id, 0, accept_all(n), SALT)
			.expect("vote revealed");
	}
}

/// Round 0 in `Aggregate`, every vote revealed.
fn to_aggregate<T: Config>(s: &Setup<T>) {
	open::<T>(s);
	commit_all::<T>(s);
	reveal_all::<T>(s);
	commit_votes::<T>(s);
	reveal_votes::<T>(s);
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		let caller = funded::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), Role::Validator, T::MinValidatorStake::get(), [1; 32]);
		assert!(Participants::<T>::get(&caller).and_then(|p| p.validator_stake).is_some());
	}

	#[benchmark]
	fn deregister() {
		let caller = funded::<T>("caller", 0);
		DecentralMl::<T>::register(
			RawOrigin::Signed(caller.clone()).into(),
			Role::Validator,
			T::MinValidatorStake::get(),
			[1; 32],
		)
		.expect("registered");
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), Role::Validator);
		assert!(Participants::<T>::get(&caller).and_then(|p| p.validator_stake).is_none());
	}

	#[benchmark]
	fn create_task() {
		let caller = funded::<T>("caller", 0);
		let spec = bench_spec::<T>(T::MaxContributors::get(), T::MaxValidators::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), spec);
		assert_eq!(NextTaskId::<T>::get(), 1);
	}

	#[benchmark]
	fn join_task() {
		// The last validator seat: joining ends enrolment and fixes the electorate.
		let v = T::MaxValidators::get();
		let s = setup::<T>(1, v - 1, 1);
		let caller = funded::<T>("caller", 0);
		DecentralMl::<T>::register(
			RawOrigin::Signed(caller.clone()).into(),
			Role::Validator,
			T::MinValidatorStake::get(),
			[1; 32],
		)
		.expect("registered");
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), s.id, Role::Validator, bond::<T>(Role::Validator));
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::Commit));
	}

	#[benchmark]
	fn cancel_task(m: Linear<1, { T::MaxContributors::get() }>) {
		let s = setup::<T>(m, 0, 1);
		#[extrinsic_call]
		_(RawOrigin::Signed(s.creator.clone()), s.id);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.status), Some(TaskStatus::Cancelled));
	}

	#[benchmark]
	fn commit_update() {
		// The only contributor's commit also closes the commit phase.
		let s = setup::<T>(1, 1, 0);
		open::<T>(&s);
		let who = s.contributors[0].clone();
		let c = DecentralMl::<T>::update_commitment(s.id, 0, 0, &who, &update_hash(0), 100, &SALT);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, c);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::Reveal));
	}

	#[benchmark]
	fn reveal_update() {
		let s = setup::<T>(1, 1, 0);
		open::<T>(&s);
		commit_all::<T>(&s);
		let who = s.contributors[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, cid(b"bafy-update"), update_hash(0), 100, SALT);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::VoteCommit));
	}

	#[benchmark]
	fn commit_vote() {
		let s = setup::<T>(1, 1, 0);
		open::<T>(&s);
		commit_all::<T>(&s);
		reveal_all::<T>(&s);
		let who = s.validators[0].clone();
		let c = DecentralMl::<T>::vote_commitment(s.id, 0, 0, &who, &accept_all(1), &SALT);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, c);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::VoteReveal));
	}

	#[benchmark]
	fn reveal_vote(v: Linear<1, { T::MaxVerdicts::get().min(T::MaxContributors::get()) }>) {
		let s = setup::<T>(v, 1, 0);
		open::<T>(&s);
		commit_all::<T>(&s);
		reveal_all::<T>(&s);
		commit_votes::<T>(&s);
		let who = s.validators[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, accept_all(v), SALT);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::Aggregate));
	}

	#[benchmark]
	fn propose_aggregate(p: Linear<0, { T::MaxValidators::get() - 1 }>) {
		let s = setup::<T>(1, p + 1, 0);
		to_aggregate::<T>(&s);
		for (i, who) in s.validators.iter().take(p as usize).enumerate() {
			DecentralMl::<T>::propose_aggregate(
				RawOrigin::Signed(who.clone()).into(),
				s.id,
				0,
				cid(b"bafy-agg"),
				H256::repeat_byte(i as u8 + 1),
			)
			.expect("proposed");
		}
		let who = s.validators[p as usize].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, cid(b"bafy-agg"), H256::repeat_byte(0xFF));
		assert_eq!(Proposals::<T>::get((s.id, 0)).len() as u32, p + 1);
	}

	#[benchmark]
	fn attest_aggregate(p: Linear<1, { T::MaxValidators::get() }>) {
		let s = setup::<T>(1, p, 0);
		to_aggregate::<T>(&s);
		for (i, who) in s.validators.iter().enumerate() {
			DecentralMl::<T>::propose_aggregate(
				RawOrigin::Signed(who.clone()).into(),
				s.id,
				0,
				cid(b"bafy-agg"),
				H256::repeat_byte(i as u8 + 1),
			)
			.expect("proposed");
		}
		let who = s.validators[0].clone();
		// The last proposal: the search runs over the whole list.
		let hash = H256::repeat_byte(p as u8);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, cid(b"bafy-agg"), hash, 9_000);
		assert!(Attestations::<T>::contains_key((s.id, 0), &s.validators[0]));
	}

	#[benchmark]
	fn finalize_round(
		s: Linear<1, { T::MaxContributors::get() }>,
		v: Linear<1, { T::MaxValidators::get() }>,
	) {
		let setup = setup::<T>(s, v, 0);
		to_aggregate::<T>(&setup);
		let hash = H256::repeat_byte(0xAB);
		DecentralMl::<T>::propose_aggregate(
			RawOrigin::Signed(setup.validators[0].clone()).into(),
			setup.id,
			0,
			cid(b"bafy-agg"),
			hash,
		)
		.expect("proposed");
		for who in setup.validators.iter() {
			DecentralMl::<T>::attest_aggregate(
				RawOrigin::Signed(who.clone()).into(),
				setup.id,
				0,
				cid(b"bafy-agg"),
				hash,
				9_000,
			)
			.expect("attested");
		}
		let caller = funded::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), setup.id, 0);
		// One round: the task ends, paying everybody and releasing every member.
		assert_eq!(Tasks::<T>::get(setup.id).map(|t| t.status), Some(TaskStatus::Finished));
	}

	#[benchmark]
	fn leave_task() {
		let s = setup::<T>(1, 1, 1);
		let who = s.validators[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), s.id);
		assert!(!Members::<T>::contains_key(s.id, &who));
	}

	#[benchmark]
	fn set_allowed(a: Linear<1, { T::MaxAllowListBatch::get() }>) {
		let s = setup::<T>(0, 0, 1);
		let accounts: Vec<T::AccountId> = (0..a).map(|i| account("allowed", i, SEED)).collect();
		let accounts: BoundedVec<T::AccountId, T::MaxAllowListBatch> =
			accounts.try_into().expect("within the batch bound");
		#[extrinsic_call]
		_(RawOrigin::Signed(s.creator.clone()), s.id, accounts, true);
		assert_eq!(AllowList::<T>::iter_prefix(s.id).count() as u32, a);
	}

	#[benchmark]
	fn purge_task(k: Linear<1, { T::MaxAllowListBatch::get() }>) {
		let s = setup::<T>(0, 0, 1);
		let accounts: Vec<T::AccountId> = (0..k).map(|i| account("allowed", i, SEED)).collect();
		let accounts: BoundedVec<T::AccountId, T::MaxAllowListBatch> =
			accounts.try_into().expect("within the batch bound");
		DecentralMl::<T>::set_allowed(RawOrigin::Signed(s.creator.clone()).into(), s.id, accounts, true)
			.expect("allowed");
		DecentralMl::<T>::cancel_task(RawOrigin::Signed(s.creator.clone()).into(), s.id)
			.expect("cancelled");
		let caller = funded::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), s.id, k + 1);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.deposit), Some(Zero::zero()));
	}

	impl_benchmark_test_suite!(DecentralMl, crate::mock::new_test_ext(), crate::mock::Test);
}
