//! A task's life outside the round: its specification's rules, creation, joining, leaving,
//! the allow-list, cancellation, the end of the task and the purge of its round data. The
//! behaviour of the stored records ([`TaskSpec`], [`TaskInfo`], [`MemberInfo`]) lives here as
//! methods, so that the calls say what they do instead of poking fields.

use crate::*;
use frame_support::{
	dispatch::{DispatchResultWithPostInfo, PostDispatchInfo},
	pallet_prelude::*,
	traits::fungible::Inspect,
};
use sp_arithmetic::Permill;
use sp_runtime::traits::{CheckedAdd, CheckedMul, Saturating, Zero};

impl<Balance: Copy> TaskSpec<Balance> {
	/// The bond the task asks of a member in `role`.
	pub fn bond_for(&self, role: Role) -> Balance {
		match role {
			Role::Contributor => self.contributor_bond,
			Role::Validator => self.validator_bond,
		}
	}

	/// Whether all six phase lengths are 1..=`max` blocks.
	pub fn phases_within(&self, max: u32) -> bool {
		[
			self.enrol_blocks,
			self.commit_blocks,
			self.reveal_blocks,
			self.vote_blocks,
			self.vote_reveal_blocks,
			self.attest_blocks,
		]
		.iter()
		.all(|b| *b >= 1 && *b <= max)
	}

	/// Whether the aggregation rule's parameters fit the task (`TrimmedMean.beta` < 50 %;
	/// `MultiKrum`: 1 ≤ `keep` ≤ `max_contributors`, `byzantine` < `max_contributors`).
	pub fn rule_fits(&self) -> bool {
		match self.rule {
			AggregationRule::FedAvg | AggregationRule::Median => true,
			AggregationRule::TrimmedMean { beta } => beta < Permill::from_percent(50),
			AggregationRule::MultiKrum { byzantine, keep } =>
				keep >= 1 && keep <= self.max_contributors && byzantine < self.max_contributors,
		}
	}
}

impl<Balance: Copy> ParticipantInfo<Balance> {
	/// A participant registering for the first time: reputation [`INITIAL_REPUTATION`].
	pub fn new(x25519_key: [u8; 32]) -> Self {
		ParticipantInfo {
			x25519_key,
			reputation: INITIAL_REPUTATION,
			contributor_stake: None,
			validator_stake: None,
			contributor_tasks: 0,
			validator_tasks: 0,
		}
	}

	/// The stake held for `role`, if registered for it.
	pub fn stake_of(&self, role: Role) -> Option<Balance> {
		match role {
			Role::Contributor => self.contributor_stake,
			Role::Validator => self.validator_stake,
		}
	}

	/// The stake slot of `role`.
	pub fn stake_slot(&mut self, role: Role) -> &mut Option<Balance> {
		match role {
			Role::Contributor => &mut self.contributor_stake,
			Role::Validator => &mut self.validator_stake,
		}
	}

	/// In how many active tasks the participant is a member in `role`.
	pub fn tasks_of(&self, role: Role) -> u32 {
		match role {
			Role::Contributor => self.contributor_tasks,
			Role::Validator => self.validator_tasks,
		}
	}

	/// Count one more (`joined`) or one fewer task membership in `role`.
	pub fn count_task(&mut self, role: Role, joined: bool) {
		let count = match role {
			Role::Contributor => &mut self.contributor_tasks,
			Role::Validator => &mut self.validator_tasks,
		};
		*count = if joined { count.saturating_add(1) } else { count.saturating_sub(1) };
	}

	/// One reputation point more (up to [`MAX_REPUTATION`]) or less (down to 0).
	pub fn adjust_reputation(&mut self, up: bool) {
		self.reputation = if up {
			self.reputation.saturating_add(1).min(MAX_REPUTATION)
		} else {
			self.reputation.saturating_sub(1)
		};
	}
}

impl<Balance: Copy + Saturating + PartialOrd> MemberInfo<Balance> {
	/// A new member bonding `bond`, taking part from round `from_round`.
	pub fn new(role: Role, bond: Balance, from_round: RoundIndex) -> Self {
		MemberInfo { role, bond, joined_bond: bond, from_round, leaving: false, idle_rounds: 0 }
	}

	/// Whether slashes left the bond below half the task's bond for the member's role.
	pub fn depleted(&self, spec: &TaskSpec<Balance>) -> bool {
		self.bond.saturating_add(self.bond) < spec.bond_for(self.role)
	}

	/// Whether the member takes part in round `round` (it joined before the round began).
	pub fn eligible_in(&self, round: RoundIndex) -> bool {
		self.from_round <= round
	}
}

impl<AccountId, Balance: Copy + Zero> TaskInfo<AccountId, Balance> {
	/// A new task in `Enrol`, round 0, until block `ends_at`.
	pub fn new(
		creator: AccountId,
		spec: TaskSpec<Balance>,
		escrow: Balance,
		deposit: Balance,
		now: u32,
		ends_at: u32,
	) -> Self {
		TaskInfo {
			creator,
			model_cid: spec.model_cid.clone(),
			model_hash: spec.model_hash,
			spec,
			status: TaskStatus::Active,
			round: 0,
			phase: Phase::Enrol,
			phase_ends_at: ends_at,
			retries: 0,
			escrow,
			paid: Zero::zero(),
			num_contributors: 0,
			num_validators: 0,
			pending_contributors: 0,
			pending_validators: 0,
			revealed: 0,
			electorate_stake: Zero::zero(),
			electorate_size: 0,
			vote_commits: 0,
			vote_reveals: 0,
			attesters: 0,
			adopted: None,
			cancel_requested: false,
			deposit,
			slashed: Zero::zero(),
			created_at: now,
			seed: H256::zero(),
			draw_seed: H256::zero(),
			cohort_cut: u64::MAX,
			cohort_size: 0,
			committee_seed: H256::zero(),
		}
	}

	/// Contributors that take part in the current round (joined before it began).
	pub fn eligible_contributors(&self) -> u32 {
		self.num_contributors.saturating_sub(self.pending_contributors)
	}

	/// Validators that take part in the current round (joined before it began).
	pub fn eligible_validators(&self) -> u32 {
		self.num_validators.saturating_sub(self.pending_validators)
	}

	/// Whether every contributor and validator seat is taken.
	pub fn seats_full(&self) -> bool {
		self.num_contributors >= self.spec.max_contributors &&
			self.num_validators >= self.spec.max_validators
	}

	/// Whether a seat for `role` is free.
	pub fn has_seat(&self, role: Role) -> bool {
		match role {
			Role::Contributor => self.num_contributors < self.spec.max_contributors,
			Role::Validator => self.num_validators < self.spec.max_validators,
		}
	}

	/// The round a member joining now in `role` takes part from: 0 during enrolment, else the
	/// next one — or the one after it for a contributor of a task with a cohort joining once the
	/// votes are being revealed: the seed of the next round's draw is then (nearly) known, and an
	/// account chosen for its ticket must not be drawn with it (`docs/committees.md`).
	pub fn joiners_first_round(&self, role: Role) -> RoundIndex {
		match self.phase {
			Phase::Enrol => 0,
			Phase::VoteReveal | Phase::Aggregate
				if role == Role::Contributor && self.spec.cohort > 0 =>
				self.round.saturating_add(2),
			_ => self.round.saturating_add(1),
		}
	}

	/// Count a member taking a seat in `role` (`pending`: from the next round).
	pub fn seat(&mut self, role: Role, pending: bool) {
		match role {
			Role::Contributor => {
				self.num_contributors += 1;
				self.pending_contributors += pending as u32;
			},
			Role::Validator => {
				self.num_validators += 1;
				self.pending_validators += pending as u32;
			},
		}
	}

	/// Count a member leaving its seat in `role` (`pending`: it was waiting for the next round).
	pub fn unseat(&mut self, role: Role, pending: bool) {
		let pending = pending as u32;
		match role {
			Role::Contributor => {
				self.num_contributors = self.num_contributors.saturating_sub(1);
				self.pending_contributors = self.pending_contributors.saturating_sub(pending);
			},
			Role::Validator => {
				self.num_validators = self.num_validators.saturating_sub(1);
				self.pending_validators = self.pending_validators.saturating_sub(pending);
			},
		}
	}

	/// Forget the counters of the previous round attempt.
	pub fn reset_attempt(&mut self) {
		self.revealed = 0;
		self.vote_commits = 0;
		self.vote_reveals = 0;
		self.attesters = 0;
		self.adopted = None;
	}

	/// Whether the task ends now if cancelled: in `Enrol`, or in `Commit` before the round's
	/// first commitment (`commitments` so far).
	pub fn untouched(&self, commitments: u32) -> bool {
		self.phase == Phase::Enrol || (self.phase == Phase::Commit && commitments == 0)
	}
}

impl<T: Config> Pallet<T> {
	pub(crate) fn do_create_task(creator: T::AccountId, spec: TaskSpecOf<T>) -> DispatchResult {
		Self::check_spec(&spec)?;
		let escrow = spec
			.reward_per_round
			.checked_mul(&BalanceOf::<T>::from(spec.rounds))
			.ok_or(Error::<T>::InvalidSpec)?;
		let existential = T::Currency::minimum_balance();
		let total = escrow.checked_add(&existential).ok_or(Error::<T>::InvalidSpec)?;
		let deposit = T::TaskDeposit::get();
		let needed = total.checked_add(&deposit).ok_or(Error::<T>::InsufficientBalance)?;
		ensure!(Self::can_hold(&creator, needed), Error::<T>::InsufficientBalance);
		let task_id = NextTaskId::<T>::get();
		let next = task_id.checked_add(1).ok_or(Error::<T>::BoundsExceeded)?;
		let now = Self::now();
		let ends_at = now.saturating_add(spec.enrol_blocks);
		Self::fund_task(task_id, &creator, total, deposit)?;
		let mut task = TaskInfo::new(creator.clone(), spec, escrow, deposit, now, ends_at);
		task.seed = sampling::initial_seed(task_id, &frame_system::Pallet::<T>::parent_hash());
		Tasks::<T>::insert(task_id, task);
		NextTaskId::<T>::put(next);
		Self::deposit_event(Event::TaskCreated { task_id, creator, escrow, deposit });
		Self::deposit_event(Event::PhaseChanged { task_id, round: 0, phase: Phase::Enrol, ends_at });
		Ok(())
	}

	pub(crate) fn do_join_task(
		who: T::AccountId,
		task_id: TaskId,
		role: Role,
		bond: BalanceOf<T>,
	) -> DispatchResult {
		let mut task = Self::active_task(task_id)?;
		let mut info = Participants::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.stake_of(role).is_some(), Error::<T>::NotRegistered);
		ensure!(task.creator != who, Error::<T>::CreatorCannotJoin);
		ensure!(!Members::<T>::contains_key(task_id, &who), Error::<T>::AlreadyJoined);
		match task.spec.admission {
			Admission::Open => {},
			Admission::AllowList =>
				ensure!(AllowList::<T>::contains_key(task_id, &who), Error::<T>::NotAllowed),
			Admission::MinReputation(min) =>
				ensure!(info.reputation >= min, Error::<T>::ReputationTooLow),
		}
		ensure!(bond >= task.spec.bond_for(role), Error::<T>::BondTooLow);
		ensure!(task.has_seat(role), Error::<T>::TaskFull);
		let mut validators = TaskValidators::<T>::get(task_id);
		if role == Role::Validator {
			validators.try_push(who.clone()).map_err(|_| Error::<T>::TaskFull)?;
		}
		ensure!(Self::can_hold(&who, bond), Error::<T>::InsufficientBalance);
		// Write.
		Self::hold(HoldReason::TaskBond, &who, bond)?;
		let from_round = task.joiners_first_round(role);
		task.seat(role, from_round > task.round);
		info.count_task(role, true);
		if role == Role::Validator {
			TaskValidators::<T>::insert(task_id, validators);
		}
		Members::<T>::insert(task_id, &who, MemberInfo::new(role, bond, from_round));
		Participants::<T>::insert(&who, info);
		Self::deposit_event(Event::TaskJoined { task_id, who, role, bond, from_round });
		Self::advance(task_id, &mut task);
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	pub(crate) fn do_cancel_task(who: T::AccountId, task_id: TaskId) -> DispatchResultWithPostInfo {
		let mut task = Self::active_task(task_id)?;
		ensure!(task.creator == who, Error::<T>::NotTaskCreator);
		ensure!(!task.cancel_requested, Error::<T>::CancelPending);
		if task.untouched(SubmissionCount::<T>::get((task_id, task.round))) {
			let members = Self::end_task(task_id, &mut task, TaskStatus::Cancelled)?;
			Tasks::<T>::insert(task_id, task);
			return Ok(Some(T::WeightInfo::cancel_task(members)).into())
		}
		task.cancel_requested = true;
		Self::deposit_event(Event::CancelScheduled { task_id, round: task.round });
		Tasks::<T>::insert(task_id, task);
		Ok(Some(T::WeightInfo::cancel_task(0)).into())
	}

	pub(crate) fn do_leave_task(who: T::AccountId, task_id: TaskId) -> DispatchResult {
		let mut task = Self::active_task(task_id)?;
		let mut member = Members::<T>::get(task_id, &who).ok_or(Error::<T>::NotMember)?;
		let key = (task_id, task.round);
		let engaged = task.phase != Phase::Enrol &&
			match member.role {
				Role::Validator => Self::electorate_bond(key, &who).is_some(),
				Role::Contributor => CommitmentOf::<T>::contains_key(key, &who),
			};
		if engaged {
			ensure!(!member.leaving, Error::<T>::AlreadyLeaving);
			member.leaving = true;
			Members::<T>::insert(task_id, &who, member);
			Self::deposit_event(Event::LeaveScheduled { task_id, who });
		} else {
			// A drawn contributor leaving before it committed: the commit phase no longer waits
			// for it.
			if task.phase != Phase::Enrol &&
				member.role == Role::Contributor &&
				member.eligible_in(task.round) &&
				Self::in_cohort(task_id, &task, &who)
			{
				task.cohort_size = task.cohort_size.saturating_sub(1);
			}
			let released = Self::remove_member(task_id, &mut task, &who, &member);
			Self::deposit_event(Event::TaskLeft { task_id, who, released });
		}
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	pub(crate) fn do_set_allowed(
		who: T::AccountId,
		task_id: TaskId,
		accounts: BoundedVec<T::AccountId, T::MaxAllowListBatch>,
		allowed: bool,
	) -> DispatchResult {
		let task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.status == TaskStatus::Active, Error::<T>::TaskNotActive);
		ensure!(task.creator == who, Error::<T>::NotTaskCreator);
		for account in accounts.iter() {
			if allowed {
				AllowList::<T>::insert(task_id, account, ());
			} else {
				AllowList::<T>::remove(task_id, account);
			}
		}
		Self::deposit_event(Event::AllowListUpdated { task_id, allowed, count: accounts.len() as u32 });
		Ok(())
	}

	pub(crate) fn do_purge_task(task_id: TaskId, limit: u32) -> DispatchResultWithPostInfo {
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.status != TaskStatus::Active, Error::<T>::TaskStillActive);
		let (removed, done) = Self::remove_round_data(task_id, task.round, limit);
		if removed > 0 {
			Self::deposit_event(Event::TaskDataRemoved { task_id, removed });
		}
		if done && !task.deposit.is_zero() {
			let released = Self::release(HoldReason::TaskDeposit, &task.creator, task.deposit)?;
			task.deposit = Zero::zero();
			Tasks::<T>::insert(task_id, task.clone());
			Self::deposit_event(Event::TaskPurged { task_id, released });
		}
		Ok(PostDispatchInfo::from(Some(T::WeightInfo::purge_task(
			removed,
			task.round.saturating_add(1),
		))))
	}

	/// The rules a spec must meet (`docs/chain.md`, Calls), each refusal with its error.
	pub(crate) fn check_spec(spec: &TaskSpecOf<T>) -> DispatchResult {
		ensure!(spec.reward_per_round >= T::MinRewardPerRound::get(), Error::<T>::RewardTooLow);
		ensure!(spec.reward_per_round >= T::Currency::minimum_balance(), Error::<T>::RewardTooLow);
		ensure!(spec.max_retries <= T::MaxRetries::get(), Error::<T>::RetriesTooHigh);
		ensure!(spec.max_idle_rounds <= T::MaxIdleRounds::get(), Error::<T>::IdleRoundsTooHigh);
		ensure!(
			spec.contributor_bond >= T::MinContributorBond::get() &&
				spec.validator_bond >= T::MinValidatorBond::get() &&
				!spec.contributor_bond.is_zero() &&
				!spec.validator_bond.is_zero(),
			Error::<T>::BondTooLow
		);
		Self::check_server_optimizer(&spec.server_optimizer)?;
		ensure!(
			spec.example_weighting != ExampleWeighting::Claimed || spec.admission != Admission::Open,
			Error::<T>::ClaimedWeightingNeedsClosedAdmission
		);
		ensure!(
			!spec.model_cid.is_empty() &&
				spec.rounds >= 1 && spec.rounds <= T::MaxRounds::get() &&
				spec.min_contributors >= 1 &&
				spec.min_contributors <= spec.max_contributors &&
				spec.max_contributors <= T::MaxContributors::get() &&
				!spec.quorum.is_zero() &&
				spec.max_validators >= 1 &&
				spec.max_validators <= T::MaxValidators::get() &&
				spec.min_validators >= 1 &&
				spec.min_validators <= spec.max_validators &&
				spec.max_examples >= 1 &&
				spec.min_improvement <= MAX_SCORE &&
				spec.phases_within(T::MaxPhaseBlocks::get()) &&
				spec.rule_fits() &&
				(spec.cohort == 0 || spec.cohort >= spec.min_contributors),
			Error::<T>::InvalidSpec
		);
		ensure!(
			spec.committee <= MAX_COMMITTEE &&
				spec.audit.deconstruct() <= MAX_AUDIT_PPM &&
				(spec.committee > 0 || spec.audit.is_zero()),
			Error::<T>::InvalidCommittee
		);
		ensure!(
			spec.committee > 0 ||
				spec.max_contributors.saturating_mul(spec.max_validators) <= FULL_JUDGING_BUDGET,
			Error::<T>::CommitteeRequired
		);
		Ok(())
	}

	fn check_server_optimizer(opt: &ServerOptimizer) -> DispatchResult {
		let lr_ok = |lr: u32| lr >= 1 && lr <= MAX_SERVER_LR;
		let below_one = |p: Permill| p < Permill::one();
		match *opt {
			ServerOptimizer::None => {},
			ServerOptimizer::Momentum { lr, momentum } => {
				ensure!(lr_ok(lr), Error::<T>::ServerLearningRateInvalid);
				ensure!(below_one(momentum), Error::<T>::ServerDecayInvalid);
			},
			ServerOptimizer::Adam { lr, beta1, beta2, tau } |
			ServerOptimizer::Yogi { lr, beta1, beta2, tau } => {
				ensure!(lr_ok(lr), Error::<T>::ServerLearningRateInvalid);
				ensure!(below_one(beta1) && below_one(beta2), Error::<T>::ServerDecayInvalid);
				ensure!(!tau.is_zero(), Error::<T>::ServerTauZero);
			},
		}
		Ok(())
	}

	/// The task, if it is active, with its due phase transitions applied.
	pub(crate) fn active_task(task_id: TaskId) -> Result<TaskInfoOf<T>, DispatchError> {
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.status == TaskStatus::Active, Error::<T>::TaskNotActive);
		Self::advance(task_id, &mut task);
		Ok(task)
	}

	/// Release one member's bond and drop its membership; returns the released bond.
	pub(crate) fn remove_member(
		task_id: TaskId,
		task: &mut TaskInfoOf<T>,
		who: &T::AccountId,
		member: &MemberInfo<BalanceOf<T>>,
	) -> BalanceOf<T> {
		let released = Self::release_bond(who, member);
		Members::<T>::remove(task_id, who);
		task.unseat(member.role, member.from_round > task.round);
		if member.role == Role::Validator {
			TaskValidators::<T>::mutate(task_id, |vs| vs.retain(|v| v != who));
		}
		Self::count_task(who, member.role, false);
		released
	}

	/// End a task: refund the escrow, release every bond, record the status and emit
	/// `TaskFinished` or `TaskCancelled`. Returns how many members were released.
	pub(crate) fn end_task(
		task_id: TaskId,
		task: &mut TaskInfoOf<T>,
		status: TaskStatus,
	) -> Result<u32, DispatchError> {
		let refunded = Self::refund_escrow(task_id, &task.creator)?;
		let mut members = 0u32;
		for (who, member) in Members::<T>::drain_prefix(task_id) {
			members += 1;
			let _ = Self::release_bond(&who, &member);
			Self::count_task(&who, member.role, false);
		}
		TaskValidators::<T>::remove(task_id);
		task.status = status;
		task.escrow = Zero::zero();
		task.num_contributors = 0;
		task.num_validators = 0;
		task.pending_contributors = 0;
		task.pending_validators = 0;
		if status == TaskStatus::Cancelled {
			Self::deposit_event(Event::TaskCancelled { task_id, paid: task.paid, refunded });
		} else {
			Self::deposit_event(Event::TaskFinished {
				task_id,
				model_cid: task.model_cid.clone(),
				model_hash: task.model_hash,
				refunded,
			});
		}
		Ok(members)
	}

	/// Remove up to `limit` keys of the round data of rounds `0..=last_round` of a task and
	/// its allow-list. Returns the keys removed and whether nothing is left.
	pub(crate) fn remove_round_data(task_id: TaskId, last_round: RoundIndex, limit: u32) -> (u32, bool) {
		let mut budget = limit;
		let mut removed = 0u32;
		macro_rules! clear {
			($map:ty, $key:expr) => {{
				if budget == 0 {
					return (removed, false);
				}
				let result = <$map>::clear_prefix($key, budget, None);
				removed = removed.saturating_add(result.unique);
				budget = budget.saturating_sub(result.unique);
				// Any cursor means keys may remain (also when keys removed earlier in the
				// same block were counted against the budget): not done yet.
				if result.maybe_cursor.is_some() {
					return (removed, false);
				}
			}};
		}
		macro_rules! take {
			($map:ty, $key:expr) => {{
				if <$map>::contains_key($key) {
					if budget == 0 {
						return (removed, false);
					}
					<$map>::remove($key);
					removed = removed.saturating_add(1);
					budget -= 1;
				}
			}};
		}
		for round in 0..=last_round {
			let key = (task_id, round);
			clear!(Submissions<T>, key);
			clear!(CommitmentOf<T>, key);
			clear!(UpdateHashes<T>, key);
			clear!(Votes<T>, key);
			clear!(VoteCommits<T>, key);
			clear!(Attestations<T>, key);
			take!(Proposals<T>, key);
			take!(Electorate<T>, key);
			take!(SubmissionCount<T>, key);
		}
		clear!(AllowList<T>, task_id);
		let _ = budget;
		(removed, true)
	}
}
