//! The pallet's invariants, checked by `try_state` (feature `try-runtime`) and after every
//! test of the pallet (`mock::build_and_execute`).

use crate::*;
use alloc::{collections::btree_map::BTreeMap, vec::Vec};
use frame_support::{
	ensure,
	traits::fungible::{Inspect, InspectHold},
};
use sp_runtime::{
	traits::{Saturating, Zero},
	TryRuntimeError,
};

impl<T: Config> Pallet<T> {
	/// Check the invariants of the pallet's storage:
	///
	/// - every task's escrow account holds its `escrow` plus the existential deposit while it is
	///   active (more only if someone sent funds there), enough to pay its remaining rounds;
	///   an ended task holds nothing, keeps no members and no validator list;
	/// - an active task's member counts equal its `Members` by role, its `TaskValidators` are
	///   exactly its validator members, and its pending counts are among them;
	/// - the current attempt's `Electorate` has `electorate_size` members bonding
	///   `electorate_stake` (none during enrolment), `SubmissionCount` counts its `Submissions`,
	///   and each of them comes from a contributor of its cohort;
	/// - every account's `Stake`, `TaskBond` and `TaskDeposit` holds equal its registered
	///   stakes, its members' bonds and its tasks' deposits; its task counts per role equal
	///   its memberships; its reputation is at most `MAX_REPUTATION`;
	/// - every round record belongs to an existing task and a round it reached.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		let next = NextTaskId::<T>::get();
		let existential = T::Currency::minimum_balance();
		let mut bonds = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut seats = BTreeMap::<(T::AccountId, bool), u32>::new();
		for (id, t) in Tasks::<T>::iter() {
			ensure!(id < next, "a task id is not below NextTaskId");
			let on_account = T::Currency::balance(&Self::escrow_account(id));
			let d = deposits.entry(t.creator.clone()).or_insert_with(Zero::zero);
			*d = d.saturating_add(t.deposit);
			let members: Vec<_> = Members::<T>::iter_prefix(id).collect();
			if t.status == TaskStatus::Active {
				ensure!(
					on_account >= t.escrow.saturating_add(existential),
					"an active task's escrow account holds less than its escrow"
				);
				let remaining = t.spec.reward_per_round.saturating_mul(
					BalanceOf::<T>::from(t.spec.rounds.saturating_sub(t.round)),
				);
				ensure!(t.escrow >= remaining, "an active task cannot pay its remaining rounds");
				let count = |role| members.iter().filter(|(_, m)| m.role == role).count() as u32;
				ensure!(count(Role::Contributor) == t.num_contributors, "contributor count");
				ensure!(count(Role::Validator) == t.num_validators, "validator count");
				ensure!(
					t.pending_contributors <= t.num_contributors &&
						t.pending_validators <= t.num_validators,
					"more pending members than members"
				);
				let validators = TaskValidators::<T>::get(id);
				ensure!(validators.len() as u32 == t.num_validators, "TaskValidators length");
				ensure!(
					validators.iter().all(|v| Members::<T>::get(id, v)
						.is_some_and(|m| m.role == Role::Validator)),
					"TaskValidators names an account that is no validator member"
				);
				Self::check_attempt(id, &t)?;
			} else {
				ensure!(
					on_account.is_zero() && t.escrow.is_zero(),
					"an ended task kept escrow"
				);
				ensure!(members.is_empty(), "an ended task kept members");
				ensure!(TaskValidators::<T>::get(id).is_empty(), "an ended task kept validators");
			}
			for (who, m) in members {
				let b = bonds.entry(who.clone()).or_insert_with(Zero::zero);
				*b = b.saturating_add(m.bond);
				*seats.entry((who, m.role == Role::Validator)).or_default() += 1;
			}
		}
		let mut accounts: Vec<T::AccountId> = Participants::<T>::iter_keys().collect();
		accounts.extend(deposits.keys().cloned());
		accounts.extend(bonds.keys().cloned());
		accounts.sort();
		accounts.dedup();
		for who in accounts {
			let held = |reason: HoldReason| T::Currency::balance_on_hold(&reason.into(), &who);
			let p = Participants::<T>::get(&who);
			let staked = p.as_ref().map_or(Zero::zero(), |p| {
				p.stake_of(Role::Contributor)
					.unwrap_or_default()
					.saturating_add(p.stake_of(Role::Validator).unwrap_or_default())
			});
			ensure!(held(HoldReason::Stake) == staked, "a Stake hold differs from the stakes");
			let bonded = bonds.get(&who).copied().unwrap_or_default();
			ensure!(held(HoldReason::TaskBond) == bonded, "a TaskBond hold differs from the bonds");
			let deposit = deposits.get(&who).copied().unwrap_or_default();
			ensure!(
				held(HoldReason::TaskDeposit) == deposit,
				"a TaskDeposit hold differs from the deposits"
			);
			let seats_of = |validator| seats.get(&(who.clone(), validator)).copied().unwrap_or(0);
			match p {
				Some(p) => {
					ensure!(p.reputation <= MAX_REPUTATION, "reputation above MAX_REPUTATION");
					ensure!(p.contributor_tasks == seats_of(false), "contributor_tasks count");
					ensure!(p.validator_tasks == seats_of(true), "validator_tasks count");
				},
				None => ensure!(
					seats_of(false) + seats_of(true) == 0,
					"a member is not registered"
				),
			}
		}
		Self::check_round_keys()
	}

	/// The current attempt's electorate and submission count of an active task.
	fn check_attempt(id: TaskId, t: &TaskInfoOf<T>) -> Result<(), TryRuntimeError> {
		let key = (id, t.round);
		let electorate = Electorate::<T>::get(key);
		if t.phase == Phase::Enrol {
			ensure!(t.electorate_size == 0, "an electorate during enrolment");
		} else {
			ensure!(electorate.len() as u32 == t.electorate_size, "electorate_size");
			let stake = electorate
				.iter()
				.fold(BalanceOf::<T>::zero(), |a, (_, b)| a.saturating_add(*b));
			ensure!(stake == t.electorate_stake, "electorate_stake");
		}
		let submissions: Vec<_> = Submissions::<T>::iter_prefix(key).collect();
		ensure!(submissions.len() as u32 == SubmissionCount::<T>::get(key), "SubmissionCount");
		ensure!(
			submissions.iter().all(|(_, s)| Self::in_cohort(id, t, &s.contributor)),
			"a submission from outside the attempt's cohort"
		);
		Ok(())
	}

	/// Every round record names an existing task and a round it reached.
	fn check_round_keys() -> Result<(), TryRuntimeError> {
		let reached = |(id, round): (TaskId, RoundIndex)| {
			Tasks::<T>::get(id).is_some_and(|t| round <= t.round)
		};
		let task = |id: TaskId| Tasks::<T>::contains_key(id);
		ensure!(Submissions::<T>::iter_keys().all(|(k, _)| reached(k)), "orphan Submissions");
		ensure!(SubmissionCount::<T>::iter_keys().all(reached), "orphan SubmissionCount");
		ensure!(CommitmentOf::<T>::iter_keys().all(|(k, _)| reached(k)), "orphan CommitmentOf");
		ensure!(UpdateHashes::<T>::iter_keys().all(|(k, _)| reached(k)), "orphan UpdateHashes");
		ensure!(VoteCommits::<T>::iter_keys().all(|(k, _)| reached(k)), "orphan VoteCommits");
		ensure!(Votes::<T>::iter_keys().all(|(k, _)| reached(k)), "orphan Votes");
		ensure!(Proposals::<T>::iter_keys().all(reached), "orphan Proposals");
		ensure!(Attestations::<T>::iter_keys().all(|(k, _)| reached(k)), "orphan Attestations");
		ensure!(Electorate::<T>::iter_keys().all(reached), "orphan Electorate");
		ensure!(RoundSummaries::<T>::iter_keys().all(reached), "orphan RoundSummaries");
		ensure!(Members::<T>::iter_keys().all(|(id, _)| task(id)), "orphan Members");
		ensure!(TaskValidators::<T>::iter_keys().all(task), "orphan TaskValidators");
		ensure!(AllowList::<T>::iter_keys().all(|(id, _)| task(id)), "orphan AllowList");
		Ok(())
	}
}
