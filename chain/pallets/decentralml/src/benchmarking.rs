//! Benchmarks of the DecentralMl calls (frame-benchmarking v2), each in its worst case: the
//! call that closes a phase, `vote` with `v` verdicts, `finalize_round` paying `s` contributors
//! and `v` validators and ending the task.
//!
//! `cargo test -p pallet-decentralml --features runtime-benchmarks` runs them once per bound in
//! the mock runtime. The runtime's weights are still the derived ones of `weights.rs` (see
//! `docs/chain.md`): measuring these benchmarks needs a benchmarking node or
//! `frame-omni-bencher`, neither of which the development machines have.

use super::*;
use crate::Pallet as DecentralMl;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{
	fungible::{Inspect, Mutate},
	Get,
};
use frame_system::RawOrigin;
use sp_arithmetic::Permill;
use sp_core::H256;
use sp_runtime::traits::Saturating;

const SEED: u32 = 0;

fn endowment<T: Config>() -> BalanceOf<T> {
	T::MinValidatorStake::get()
		.saturating_add(T::MinContributorStake::get())
		.saturating_add(T::MinRewardPerRound::get())
		.saturating_add(T::ProposalPenalty::get())
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

fn bench_spec<T: Config>(max_contributors: u32) -> TaskSpecOf<T> {
	TaskSpec {
		model_cid: cid(b"bafy-bench-model"),
		model_hash: H256::repeat_byte(1),
		rounds: 1,
		min_contributors: 1,
		max_contributors: max_contributors.max(1),
		quorum: Permill::from_percent(50),
		min_validators: 1,
		reward_per_round: T::MinRewardPerRound::get().max(T::Currency::minimum_balance()),
		validator_share: Permill::from_percent(20),
		rule: AggregationRule::FedAvg,
		max_examples: 1_000,
		commit_blocks: 10,
		reveal_blocks: 10,
		vote_blocks: 10,
		attest_blocks: 10,
		max_retries: 1,
		private: false,
	}
}

struct Setup<T: Config> {
	id: TaskId,
	creator: T::AccountId,
	contributors: Vec<T::AccountId>,
	validators: Vec<T::AccountId>,
}

/// A task with `c` contributors and `v` validators registered and joined.
fn setup<T: Config>(c: u32, v: u32) -> Setup<T> {
	frame_system::Pallet::<T>::set_block_number(1u32.into());
	let creator = funded::<T>("creator", 0);
	let id = NextTaskId::<T>::get();
	DecentralMl::<T>::create_task(RawOrigin::Signed(creator.clone()).into(), bench_spec::<T>(c))
		.expect("task created");
	let join = |name, i, role| {
		let who = funded::<T>(name, i);
		let stake = match role {
			Role::Contributor => T::MinContributorStake::get(),
			Role::Validator => T::MinValidatorStake::get(),
		};
		DecentralMl::<T>::register(RawOrigin::Signed(who.clone()).into(), role, stake, [0; 32])
			.expect("registered");
		DecentralMl::<T>::join_task(RawOrigin::Signed(who.clone()).into(), id, role).expect("joined");
		who
	};
	let contributors = (0..c).map(|i| join("contributor", i, Role::Contributor)).collect();
	let validators = (0..v).map(|i| join("validator", i, Role::Validator)).collect();
	Setup { id, creator, contributors, validators }
}

fn update_hash(i: u32) -> H256 {
	H256::from_low_u64_be(i as u64 + 1)
}

fn commit_all<T: Config>(s: &Setup<T>) {
	for (i, who) in s.contributors.iter().enumerate() {
		let c = DecentralMl::<T>::commitment(&update_hash(i as u32), &[7; 32], who);
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
			[7; 32],
		)
		.expect("revealed");
	}
}

fn accept_all(n: u32) -> Vec<Verdict> {
	(0..n).map(|i| Verdict { submission: i, accept: true, score: 9_000 }).collect()
}

fn vote_all<T: Config>(s: &Setup<T>) {
	let n = s.contributors.len() as u32;
	for who in s.validators.iter() {
		DecentralMl::<T>::vote(RawOrigin::Signed(who.clone()).into(), s.id, 0, accept_all(n))
			.expect("voted");
	}
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
		let spec = bench_spec::<T>(T::MaxContributors::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), spec);
		assert_eq!(NextTaskId::<T>::get(), 1);
	}

	#[benchmark]
	fn join_task() {
		let s = setup::<T>(0, 0);
		let caller = funded::<T>("caller", 0);
		DecentralMl::<T>::register(
			RawOrigin::Signed(caller.clone()).into(),
			Role::Validator,
			T::MinValidatorStake::get(),
			[1; 32],
		)
		.expect("registered");
		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), s.id, Role::Validator);
		assert!(Members::<T>::contains_key(s.id, &caller));
	}

	#[benchmark]
	fn cancel_task(m: Linear<1, { T::MaxContributors::get() }>) {
		let s = setup::<T>(m, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(s.creator.clone()), s.id);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.status), Some(TaskStatus::Cancelled));
	}

	#[benchmark]
	fn commit_update() {
		// The only contributor's commit also closes the commit phase.
		let s = setup::<T>(1, 1);
		let who = s.contributors[0].clone();
		let c = DecentralMl::<T>::commitment(&update_hash(0), &[7; 32], &who);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, c);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::Reveal));
	}

	#[benchmark]
	fn reveal_update() {
		let s = setup::<T>(1, 1);
		commit_all::<T>(&s);
		let who = s.contributors[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, cid(b"bafy-update"), update_hash(0), 100, [7; 32]);
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::Vote));
	}

	#[benchmark]
	fn vote(v: Linear<1, { T::MaxVerdicts::get().min(T::MaxContributors::get()) }>) {
		let s = setup::<T>(v, 1);
		commit_all::<T>(&s);
		reveal_all::<T>(&s);
		let who = s.validators[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, accept_all(v));
		assert_eq!(Tasks::<T>::get(s.id).map(|t| t.phase), Some(Phase::Aggregate));
	}

	#[benchmark]
	fn propose_aggregate(p: Linear<0, { T::MaxProposals::get() - 1 }>) {
		let s = setup::<T>(1, p + 1);
		commit_all::<T>(&s);
		reveal_all::<T>(&s);
		vote_all::<T>(&s);
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
		let who = s.contributors[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), s.id, 0, cid(b"bafy-agg"), H256::repeat_byte(0xFF));
		assert_eq!(Proposals::<T>::get((s.id, 0)).len() as u32, p + 1);
	}

	#[benchmark]
	fn attest_aggregate(p: Linear<1, { T::MaxProposals::get() }>) {
		let s = setup::<T>(1, p);
		commit_all::<T>(&s);
		reveal_all::<T>(&s);
		vote_all::<T>(&s);
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
		_(RawOrigin::Signed(who), s.id, 0, hash, 9_000);
		assert!(Attestations::<T>::contains_key((s.id, 0), &s.validators[0]));
	}

	#[benchmark]
	fn finalize_round(
		s: Linear<1, { T::MaxContributors::get() }>,
		v: Linear<1, { T::MaxValidators::get() }>,
	) {
		let setup = setup::<T>(s, v);
		commit_all::<T>(&setup);
		reveal_all::<T>(&setup);
		vote_all::<T>(&setup);
		let hash = H256::repeat_byte(0xAB);
		DecentralMl::<T>::propose_aggregate(
			RawOrigin::Signed(setup.contributors[0].clone()).into(),
			setup.id,
			0,
			cid(b"bafy-agg"),
			hash,
		)
		.expect("proposed");
		for who in setup.validators.iter() {
			DecentralMl::<T>::attest_aggregate(RawOrigin::Signed(who.clone()).into(), setup.id, 0, hash, 9_000)
				.expect("attested");
		}
		let caller = funded::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), setup.id, 0);
		// One round: the task ends, paying everybody and releasing every member.
		assert_eq!(Tasks::<T>::get(setup.id).map(|t| t.status), Some(TaskStatus::Finished));
	}

	impl_benchmark_test_suite!(DecentralMl, crate::mock::new_test_ext(), crate::mock::Test);
}
