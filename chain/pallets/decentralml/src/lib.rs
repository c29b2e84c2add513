//! # DecentralMl pallet
//!
//! Coordinates federated-learning tasks on chain and keeps their ledger:
//!
//! - a **registry** of participants (contributors and validators) with held stakes, an X25519
//!   key each and a reputation;
//! - **tasks** whose whole reward is escrowed on a per-task sub-account of [`Config::PalletId`];
//! - **rounds** run as a phase machine: `Commit` → `Reveal` → `Vote` → `Aggregate`, closed by
//!   block deadlines or early, as soon as everybody expected has acted;
//! - **commit–reveal** of model updates, **batched votes** with consensus by quorum, aggregate
//!   **attestation** by quorum with a penalty for losing proposals, and **finalisation** that
//!   pays rewards, updates reputations and opens the next round (or retries a failed one).
//!
//! Phase transitions happen lazily at the start (and end) of every call on a task; there are
//! no hooks. `docs/chain.md` describes the rules for users.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod types;
pub mod weights;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;

pub use types::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		dispatch::{DispatchResult, DispatchResultWithPostInfo, PostDispatchInfo},
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Preservation, Restriction},
		},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use sp_arithmetic::{helpers_128bit::multiply_by_rational_with_rounding, Rounding};
	use sp_runtime::{
		traits::{AccountIdConversion, Saturating, Zero},
		SaturatedConversion,
	};

	/// The balance type of the currency the pallet uses.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A task as stored.
	pub type TaskInfoOf<T> = TaskInfo<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
	/// A task specification with the runtime's balance.
	pub type TaskSpecOf<T> = TaskSpec<BalanceOf<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

		/// The currency: stakes are held on it, escrow and rewards are transferred in it.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// Derives each task's escrow account (`PalletId` sub-account of the task id).
		#[pallet::constant]
		type PalletId: Get<PalletId>;

		/// Smallest stake (in plancks) for registering as a contributor.
		#[pallet::constant]
		type MinContributorStake: Get<BalanceOf<Self>>;

		/// Smallest stake (in plancks) for registering as a validator.
		#[pallet::constant]
		type MinValidatorStake: Get<BalanceOf<Self>>;

		/// Smallest `reward_per_round` (in plancks) a task may offer; at least the existential
		/// deposit.
		#[pallet::constant]
		type MinRewardPerRound: Get<BalanceOf<Self>>;

		/// Amount (in plancks) slashed from the stake of the proposer of an aggregate that lost
		/// (another hash was adopted); it goes into the task's escrow.
		#[pallet::constant]
		type ProposalPenalty: Get<BalanceOf<Self>>;

		/// Most contributors a task may have (also the most submissions in a round).
		#[pallet::constant]
		type MaxContributors: Get<u32>;

		/// Most validators a task may have.
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Most verdicts one `vote` call may carry.
		#[pallet::constant]
		type MaxVerdicts: Get<u32>;

		/// Most aggregates that may be proposed in one round.
		#[pallet::constant]
		type MaxProposals: Get<u32>;

		/// Most rounds a task may ask for.
		#[pallet::constant]
		type MaxRounds: Get<u32>;

		/// Longest phase (in blocks) a task may ask for.
		#[pallet::constant]
		type MaxPhaseBlocks: Get<u32>;

		/// Weights of the calls.
		type WeightInfo: WeightInfo;
	}

	/// Why the pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Stake of a registered contributor or validator.
		Stake,
	}

	/// The id the next created task gets.
	#[pallet::storage]
	pub type NextTaskId<T> = StorageValue<_, TaskId, ValueQuery>;

	/// Registered participants: key, stakes, reputation, active task counts.
	#[pallet::storage]
	pub type Participants<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ParticipantInfo<BalanceOf<T>>>;

	/// Tasks by id, with the state of their current round.
	#[pallet::storage]
	pub type Tasks<T: Config> = StorageMap<_, Twox64Concat, TaskId, TaskInfoOf<T>>;

	/// The roles each account joined a task with (cleared when the task ends).
	#[pallet::storage]
	pub type Members<T: Config> =
		StorageDoubleMap<_, Twox64Concat, TaskId, Blake2_128Concat, T::AccountId, Roles>;

	/// The submissions of a round by index (a failed round's submissions are cleared).
	#[pallet::storage]
	pub type Submissions<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Twox64Concat,
		SubmissionIndex,
		Submission<T::AccountId>,
	>;

	/// Number of submissions (commitments) in a round.
	#[pallet::storage]
	pub type SubmissionCount<T> =
		StorageMap<_, Twox64Concat, (TaskId, RoundIndex), u32, ValueQuery>;

	/// The submission index of each contributor that committed in a round.
	#[pallet::storage]
	pub type CommitmentOf<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Blake2_128Concat,
		T::AccountId,
		SubmissionIndex,
	>;

	/// Each validator's verdicts in a round.
	#[pallet::storage]
	pub type Votes<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<Verdict, T::MaxVerdicts>,
	>;

	/// The aggregates proposed in a round, in proposal order.
	#[pallet::storage]
	pub type Proposals<T: Config> = StorageMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		BoundedVec<Proposal<T::AccountId>, T::MaxProposals>,
		ValueQuery,
	>;

	/// Each validator's attestation in a round: the hash it attested and its score.
	#[pallet::storage]
	pub type Attestations<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Blake2_128Concat,
		T::AccountId,
		(H256, u32),
	>;

	/// What each finalised round produced.
	#[pallet::storage]
	pub type RoundSummaries<T: Config> =
		StorageMap<_, Twox64Concat, (TaskId, RoundIndex), RoundSummary<BalanceOf<T>>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An account registered for a role, holding `stake`.
		Registered { who: T::AccountId, role: Role, stake: BalanceOf<T> },
		/// An account left a role; `released` stake is free again.
		Deregistered { who: T::AccountId, role: Role, released: BalanceOf<T> },
		/// A task was created; `escrow` (all rounds' rewards) moved to its escrow account.
		TaskCreated { task_id: TaskId, creator: T::AccountId, escrow: BalanceOf<T> },
		/// An account joined a task in a role.
		TaskJoined { task_id: TaskId, who: T::AccountId, role: Role },
		/// The creator cancelled a task: `paid` had been paid out, `refunded` went back.
		TaskCancelled { task_id: TaskId, paid: BalanceOf<T>, refunded: BalanceOf<T> },
		/// A contributor committed to an update; it is submission `submission` of the round.
		UpdateCommitted { task_id: TaskId, round: RoundIndex, submission: u32, who: T::AccountId },
		/// A contributor revealed its update; validators can now fetch and evaluate it.
		UpdateRevealed {
			task_id: TaskId,
			round: RoundIndex,
			submission: u32,
			who: T::AccountId,
			cid: Cid,
			update_hash: H256,
			num_examples: u64,
		},
		/// The round entered `phase`, which closes at block `ends_at` at the latest.
		PhaseChanged { task_id: TaskId, round: RoundIndex, phase: Phase, ends_at: u32 },
		/// A validator cast `verdicts` verdicts (stored in `Votes`).
		Voted { task_id: TaskId, round: RoundIndex, validator: T::AccountId, verdicts: u32 },
		/// An aggregate was proposed.
		AggregateProposed {
			task_id: TaskId,
			round: RoundIndex,
			proposer: T::AccountId,
			cid: Cid,
			hash: H256,
		},
		/// A validator attested an aggregate hash with its measured score.
		AggregateAttested {
			task_id: TaskId,
			round: RoundIndex,
			validator: T::AccountId,
			hash: H256,
			score: u32,
		},
		/// An aggregate reached the attestation quorum: it becomes the next global model.
		ModelAdopted { task_id: TaskId, round: RoundIndex, cid: Cid, hash: H256, attestations: u32 },
		/// A round was finalised and paid.
		RoundFinalized {
			task_id: TaskId,
			round: RoundIndex,
			accepted: u32,
			rejected: u32,
			attested_score: u32,
			contributor_rewards: BalanceOf<T>,
			validator_rewards: BalanceOf<T>,
		},
		/// A round failed (too few accepted updates, validators or attestations); the model
		/// stays, the reward stays in escrow and the round restarts (`retries` so far).
		RoundFailed { task_id: TaskId, round: RoundIndex, retries: u32 },
		/// A reward was paid from the task's escrow.
		RewardPaid { task_id: TaskId, round: RoundIndex, who: T::AccountId, amount: BalanceOf<T> },
		/// The proposer of a losing aggregate lost `amount` of its stake to the task's escrow.
		ProposerPenalised {
			task_id: TaskId,
			round: RoundIndex,
			who: T::AccountId,
			amount: BalanceOf<T>,
		},
		/// The task ended; its final model is recorded and `refunded` went back to the creator.
		TaskFinished { task_id: TaskId, model_cid: Cid, model_hash: H256, refunded: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No task has this id.
		UnknownTask,
		/// The task has finished or was cancelled.
		TaskNotActive,
		/// The call names a round other than the task's current round.
		WrongRound,
		/// The current phase of the round does not allow this call.
		WrongPhase,
		/// The commit phase of this round has closed.
		CommitDeadlinePassed,
		/// The aggregation phase has closed (or a model was already adopted).
		AggregationClosed,
		/// The account has not joined this task.
		NotMember,
		/// The account has not joined this task as a contributor.
		NotContributor,
		/// The account has not joined this task as a validator.
		NotValidator,
		/// The account already joined this task in this role.
		AlreadyJoined,
		/// The task has no room left for this role.
		TaskFull,
		/// The account is not registered for this role.
		NotRegistered,
		/// The account is already registered for this role.
		AlreadyRegistered,
		/// The account still takes part in an active task in this role.
		HasOpenCommitments,
		/// The stake is below the role's minimum.
		StakeTooLow,
		/// The account cannot afford the stake or the task's escrow.
		InsufficientBalance,
		/// The reward per round is below the minimum.
		RewardTooLow,
		/// The task specification is inconsistent (see the docs for the rules).
		InvalidSpec,
		/// Only the task's creator may do this.
		NotTaskCreator,
		/// The account already committed in this round.
		AlreadyCommitted,
		/// The round has reached its maximum number of submissions.
		TooManySubmissions,
		/// The account has no commitment in this round.
		NoCommitment,
		/// The submission was already revealed.
		AlreadyRevealed,
		/// The revealed hash, salt and account do not match the commitment.
		CommitmentMismatch,
		/// `num_examples` must be at least 1.
		NoExamples,
		/// The validator already voted in this round.
		AlreadyVoted,
		/// A vote must carry at least one verdict.
		EmptyVote,
		/// A vote carries more verdicts than `MaxVerdicts`.
		TooManyVerdicts,
		/// A verdict names a submission that does not exist in this round.
		UnknownSubmission,
		/// A verdict names a submission that was not revealed.
		NotRevealed,
		/// A verdict names the same submission twice.
		DuplicateVerdict,
		/// A score is above 10 000 basis points.
		InvalidScore,
		/// This hash was already proposed in this round.
		DuplicateProposal,
		/// The account already proposed an aggregate in this round.
		AlreadyProposed,
		/// The round's proposal list is full.
		TooManyProposals,
		/// No aggregate with this hash was proposed in this round.
		UnknownProposal,
		/// The validator already attested in this round.
		AlreadyAttested,
		/// The round cannot be finalised yet: no model adopted and its deadline not passed.
		RoundNotFinished,
		/// A model was adopted in the current round: finalise the round before cancelling.
		FinalizeAdoptedRoundFirst,
		/// A bound (verdicts, proposals, counters) would be exceeded.
		BoundsExceeded,
	}

	#[pallet::extra_constants]
	impl<T: Config> Pallet<T> {
		/// Longest CID (bytes) the pallet stores.
		#[pallet::constant_name(MaxCidLen)]
		fn max_cid_len() -> u32 {
			MAX_CID_LEN
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register for `role`, holding `stake` (at least the role's minimum) and publishing the
		/// X25519 key private-mode updates are sealed to. One account may hold both roles.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			role: Role,
			stake: BalanceOf<T>,
			x25519_key: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let min = match role {
				Role::Contributor => T::MinContributorStake::get(),
				Role::Validator => T::MinValidatorStake::get(),
			};
			ensure!(stake >= min, Error::<T>::StakeTooLow);
			let mut info = Participants::<T>::get(&who).unwrap_or(ParticipantInfo {
				x25519_key,
				reputation: INITIAL_REPUTATION,
				contributor_stake: None,
				validator_stake: None,
				contributor_tasks: 0,
				validator_tasks: 0,
			});
			let slot = match role {
				Role::Contributor => &mut info.contributor_stake,
				Role::Validator => &mut info.validator_stake,
			};
			ensure!(slot.is_none(), Error::<T>::AlreadyRegistered);
			ensure!(
				T::Currency::reducible_balance(&who, Preservation::Preserve, Fortitude::Polite) >=
					stake,
				Error::<T>::InsufficientBalance
			);
			*slot = Some(stake);
			info.x25519_key = x25519_key;
			T::Currency::hold(&HoldReason::Stake.into(), &who, stake)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Participants::<T>::insert(&who, info);
			Self::deposit_event(Event::Registered { who, role, stake });
			Ok(())
		}

		/// Leave `role` and release its stake. Refused while the account takes part in an
		/// active task in that role. The reputation is kept.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>, role: Role) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Participants::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let (slot, tasks) = match role {
				Role::Contributor => (&mut info.contributor_stake, info.contributor_tasks),
				Role::Validator => (&mut info.validator_stake, info.validator_tasks),
			};
			let stake = slot.ok_or(Error::<T>::NotRegistered)?;
			ensure!(tasks == 0, Error::<T>::HasOpenCommitments);
			*slot = None;
			let released =
				T::Currency::release(&HoldReason::Stake.into(), &who, stake, Precision::BestEffort)?;
			Participants::<T>::insert(&who, info);
			Self::deposit_event(Event::Deregistered { who, role, released });
			Ok(())
		}

		/// Create a task: `spec.rounds × spec.reward_per_round` (plus the existential deposit
		/// that keeps the escrow account alive, refunded at the end) moves to the task's escrow
		/// account, and round 0 opens in the commit phase.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::create_task())]
		pub fn create_task(origin: OriginFor<T>, spec: TaskSpecOf<T>) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			Self::check_spec(&spec)?;
			let escrow = spec
				.reward_per_round
				.checked_mul(&BalanceOf::<T>::from(spec.rounds))
				.ok_or(Error::<T>::InvalidSpec)?;
			let deposit = T::Currency::minimum_balance();
			let total = escrow.checked_add(&deposit).ok_or(Error::<T>::InvalidSpec)?;
			ensure!(
				T::Currency::reducible_balance(&creator, Preservation::Preserve, Fortitude::Polite) >=
					total,
				Error::<T>::InsufficientBalance
			);
			let task_id = NextTaskId::<T>::get();
			let next = task_id.checked_add(1).ok_or(Error::<T>::BoundsExceeded)?;
			let now = Self::now();
			let ends_at = now.saturating_add(spec.commit_blocks);
			T::Currency::transfer(
				&creator,
				&Self::escrow_account(task_id),
				total,
				Preservation::Preserve,
			)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
			let task = TaskInfo {
				creator: creator.clone(),
				model_cid: spec.model_cid.clone(),
				model_hash: spec.model_hash,
				spec,
				status: TaskStatus::Active,
				round: 0,
				phase: Phase::Commit,
				phase_ends_at: ends_at,
				retries: 0,
				escrow,
				paid: Zero::zero(),
				num_contributors: 0,
				num_validators: 0,
				revealed: 0,
				voters: 0,
				adopted: None,
				created_at: now,
			};
			Tasks::<T>::insert(task_id, task);
			NextTaskId::<T>::put(next);
			Self::deposit_event(Event::TaskCreated { task_id, creator, escrow });
			Self::deposit_event(Event::PhaseChanged {
				task_id,
				round: 0,
				phase: Phase::Commit,
				ends_at,
			});
			Ok(())
		}

		/// Join an active task in `role` (registered for that role, stake at its minimum, room
		/// left: `max_contributors` contributors, `MaxValidators` validators).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::join_task())]
		pub fn join_task(origin: OriginFor<T>, task_id: TaskId, role: Role) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			let mut info = Participants::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let (stake, min) = match role {
				Role::Contributor => (info.contributor_stake, T::MinContributorStake::get()),
				Role::Validator => (info.validator_stake, T::MinValidatorStake::get()),
			};
			let stake = stake.ok_or(Error::<T>::NotRegistered)?;
			ensure!(stake >= min, Error::<T>::StakeTooLow);
			let mut roles = Members::<T>::get(task_id, &who).unwrap_or_default();
			match role {
				Role::Contributor => {
					ensure!(!roles.contributor, Error::<T>::AlreadyJoined);
					ensure!(
						task.num_contributors < task.spec.max_contributors,
						Error::<T>::TaskFull
					);
					roles.contributor = true;
					task.num_contributors += 1;
					info.contributor_tasks = info.contributor_tasks.saturating_add(1);
				},
				Role::Validator => {
					ensure!(!roles.validator, Error::<T>::AlreadyJoined);
					ensure!(task.num_validators < T::MaxValidators::get(), Error::<T>::TaskFull);
					roles.validator = true;
					task.num_validators += 1;
					info.validator_tasks = info.validator_tasks.saturating_add(1);
				},
			}
			Members::<T>::insert(task_id, &who, roles);
			Participants::<T>::insert(&who, info);
			Self::advance(task_id, &mut task);
			Tasks::<T>::insert(task_id, task);
			Self::deposit_event(Event::TaskJoined { task_id, who, role });
			Ok(())
		}

		/// Cancel an active task (creator only). Rounds already finalised were paid; everything
		/// left in escrow goes back to the creator and the current round is abandoned unpaid.
		/// Refused while the current round has an adopted model: finalise it first.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::cancel_task(T::MaxContributors::get() + T::MaxValidators::get()))]
		pub fn cancel_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(task.creator == who, Error::<T>::NotTaskCreator);
			ensure!(task.adopted.is_none(), Error::<T>::FinalizeAdoptedRoundFirst);
			let refunded = Self::refund_escrow(task_id, &task.creator)?;
			let members = Self::release_members(task_id);
			task.status = TaskStatus::Cancelled;
			task.escrow = Zero::zero();
			let paid = task.paid;
			Tasks::<T>::insert(task_id, task);
			Self::deposit_event(Event::TaskCancelled { task_id, paid, refunded });
			Ok(Some(T::WeightInfo::cancel_task(members)).into())
		}

		/// Commit to an update in the commit phase of round `round`:
		/// `commitment = blake2_256(update_hash ‖ salt ‖ account_id)` (32 + 32 + 32 bytes).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::commit_update())]
		pub fn commit_update(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			commitment: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			Self::ensure_contributor(task_id, &who)?;
			ensure!(task.phase == Phase::Commit, Error::<T>::CommitDeadlinePassed);
			let key = (task_id, round);
			ensure!(!CommitmentOf::<T>::contains_key(key, &who), Error::<T>::AlreadyCommitted);
			let index = SubmissionCount::<T>::get(key);
			ensure!(index < task.spec.max_contributors, Error::<T>::TooManySubmissions);
			Submissions::<T>::insert(
				key,
				index,
				Submission {
					contributor: who.clone(),
					commitment,
					cid: None,
					update_hash: None,
					num_examples: 0,
					accepts: 0,
					rejects: 0,
					status: SubmissionStatus::Committed,
				},
			);
			CommitmentOf::<T>::insert(key, &who, index);
			SubmissionCount::<T>::insert(key, index + 1);
			Self::deposit_event(Event::UpdateCommitted { task_id, round, submission: index, who });
			Self::advance(task_id, &mut task);
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Reveal the update committed to in round `round` (reveal phase): its CID, hash,
		/// number of training examples (at least 1) and the commitment's salt.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::reveal_update())]
		pub fn reveal_update(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			cid: Cid,
			update_hash: H256,
			num_examples: u64,
			salt: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			Self::ensure_contributor(task_id, &who)?;
			ensure!(task.phase == Phase::Reveal, Error::<T>::WrongPhase);
			let key = (task_id, round);
			let index = CommitmentOf::<T>::get(key, &who).ok_or(Error::<T>::NoCommitment)?;
			let mut sub = Submissions::<T>::get(key, index).ok_or(Error::<T>::NoCommitment)?;
			ensure!(sub.status == SubmissionStatus::Committed, Error::<T>::AlreadyRevealed);
			ensure!(num_examples >= 1, Error::<T>::NoExamples);
			ensure!(
				Self::commitment(&update_hash, &salt, &who) == sub.commitment,
				Error::<T>::CommitmentMismatch
			);
			sub.cid = Some(cid.clone());
			sub.update_hash = Some(update_hash);
			sub.num_examples = num_examples;
			sub.status = SubmissionStatus::Revealed;
			Submissions::<T>::insert(key, index, sub);
			task.revealed = task.revealed.saturating_add(1);
			Self::deposit_event(Event::UpdateRevealed {
				task_id,
				round,
				submission: index,
				who,
				cid,
				update_hash,
				num_examples,
			});
			Self::advance(task_id, &mut task);
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Cast all of a validator's verdicts for round `round` in one call (vote phase), one
		/// per revealed submission it judged (at most `MaxVerdicts`); each score is in basis
		/// points (0..=10 000).
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::vote(verdicts.len() as u32))]
		pub fn vote(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			verdicts: Vec<Verdict>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			Self::ensure_validator(task_id, &who)?;
			ensure!(task.phase == Phase::Vote, Error::<T>::WrongPhase);
			let key = (task_id, round);
			ensure!(!Votes::<T>::contains_key(key, &who), Error::<T>::AlreadyVoted);
			ensure!(!verdicts.is_empty(), Error::<T>::EmptyVote);
			let verdicts: BoundedVec<Verdict, T::MaxVerdicts> =
				verdicts.try_into().map_err(|_| Error::<T>::TooManyVerdicts)?;
			let mut indices: Vec<u32> = verdicts.iter().map(|v| v.submission).collect();
			indices.sort_unstable();
			ensure!(indices.windows(2).all(|w| w[0] != w[1]), Error::<T>::DuplicateVerdict);
			let count = SubmissionCount::<T>::get(key);
			let mut updated = Vec::with_capacity(verdicts.len());
			for v in verdicts.iter() {
				ensure!(v.submission < count, Error::<T>::UnknownSubmission);
				ensure!(v.score <= MAX_SCORE, Error::<T>::InvalidScore);
				let mut sub =
					Submissions::<T>::get(key, v.submission).ok_or(Error::<T>::UnknownSubmission)?;
				ensure!(sub.status == SubmissionStatus::Revealed, Error::<T>::NotRevealed);
				if v.accept {
					sub.accepts = sub.accepts.saturating_add(1);
				} else {
					sub.rejects = sub.rejects.saturating_add(1);
				}
				updated.push((v.submission, sub));
			}
			for (index, sub) in updated {
				Submissions::<T>::insert(key, index, sub);
			}
			let n = verdicts.len() as u32;
			Votes::<T>::insert(key, &who, verdicts);
			task.voters = task.voters.saturating_add(1);
			Self::deposit_event(Event::Voted { task_id, round, validator: who, verdicts: n });
			Self::advance(task_id, &mut task);
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Propose the aggregate of round `round`'s accepted updates (aggregation phase, any
		/// task member, once per account and round, each hash once).
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::propose_aggregate(T::MaxProposals::get()))]
		pub fn propose_aggregate(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			cid: Cid,
			hash: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			ensure!(Members::<T>::contains_key(task_id, &who), Error::<T>::NotMember);
			ensure!(task.phase == Phase::Aggregate, Error::<T>::WrongPhase);
			ensure!(
				task.adopted.is_none() && Self::now() < task.phase_ends_at,
				Error::<T>::AggregationClosed
			);
			let key = (task_id, round);
			let mut proposals = Proposals::<T>::get(key);
			ensure!(proposals.iter().all(|p| p.hash != hash), Error::<T>::DuplicateProposal);
			ensure!(proposals.iter().all(|p| p.proposer != who), Error::<T>::AlreadyProposed);
			proposals
				.try_push(Proposal {
					proposer: who.clone(),
					cid: cid.clone(),
					hash,
					attestations: 0,
					score_sum: 0,
				})
				.map_err(|_| Error::<T>::TooManyProposals)?;
			Proposals::<T>::insert(key, proposals);
			Self::deposit_event(Event::AggregateProposed { task_id, round, proposer: who, cid, hash });
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Attest a proposed aggregate's hash with the score (basis points) the validator
		/// measured for it (aggregation phase; once per validator and round). The first hash
		/// whose attestations reach the quorum is adopted as the next model.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::attest_aggregate(T::MaxProposals::get()))]
		pub fn attest_aggregate(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			hash: H256,
			score: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			Self::ensure_validator(task_id, &who)?;
			ensure!(task.phase == Phase::Aggregate, Error::<T>::WrongPhase);
			ensure!(
				task.adopted.is_some() || Self::now() < task.phase_ends_at,
				Error::<T>::AggregationClosed
			);
			ensure!(score <= MAX_SCORE, Error::<T>::InvalidScore);
			let key = (task_id, round);
			ensure!(!Attestations::<T>::contains_key(key, &who), Error::<T>::AlreadyAttested);
			let mut proposals = Proposals::<T>::get(key);
			let index =
				proposals.iter().position(|p| p.hash == hash).ok_or(Error::<T>::UnknownProposal)?;
			let proposal = &mut proposals[index];
			proposal.attestations = proposal.attestations.saturating_add(1);
			proposal.score_sum = proposal.score_sum.saturating_add(score as u64);
			let (attestations, cid) = (proposal.attestations, proposal.cid.clone());
			Attestations::<T>::insert(key, &who, (hash, score));
			Proposals::<T>::insert(key, proposals);
			Self::deposit_event(Event::AggregateAttested {
				task_id,
				round,
				validator: who,
				hash,
				score,
			});
			if task.adopted.is_none() && attestations >= Self::attestation_threshold(&task) {
				task.adopted = Some(index as u32);
				Self::deposit_event(Event::ModelAdopted { task_id, round, cid, hash, attestations });
			}
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Finalise round `round` (anyone). Succeeds when a model was adopted and enough updates
		/// were accepted: pays, updates reputations, penalises losing proposers and opens the
		/// next round (or finishes the task). When the round cannot succeed — too few accepted
		/// updates, or the aggregation deadline passed without an adopted model — it fails and
		/// is retried (or the task ends after `max_retries`). Refused otherwise.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::finalize_round(
			T::MaxContributors::get(),
			T::MaxValidators::get(),
			T::MaxProposals::get(),
			T::MaxContributors::get() + T::MaxValidators::get(),
		))]
		pub fn finalize_round(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
		) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			ensure!(task.phase == Phase::Aggregate, Error::<T>::RoundNotFinished);
			Self::do_finalize(task_id, &mut task)
		}
	}

	impl<T: Config> Pallet<T> {
		/// The escrow account of a task.
		pub fn escrow_account(task_id: TaskId) -> T::AccountId {
			T::PalletId::get().into_sub_account_truncating(task_id)
		}

		/// `blake2_256(update_hash ‖ salt ‖ account_id)`.
		pub fn commitment(update_hash: &H256, salt: &[u8; 32], who: &T::AccountId) -> H256 {
			let mut data = Vec::with_capacity(96);
			data.extend_from_slice(update_hash.as_bytes());
			data.extend_from_slice(salt);
			data.extend_from_slice(&who.encode());
			H256(sp_io::hashing::blake2_256(&data))
		}

		/// Whether an update with these votes is accepted when `voters` validators voted.
		pub fn is_accepted(task: &TaskInfoOf<T>, accepts: u32) -> bool {
			task.voters >= task.spec.min_validators &&
				accepts >= task.spec.min_validators &&
				accepts >= task.spec.quorum.mul_ceil(task.voters)
		}

		/// Attestations an aggregate needs to be adopted.
		pub fn attestation_threshold(task: &TaskInfoOf<T>) -> u32 {
			task.spec.quorum.mul_ceil(task.num_validators).max(task.spec.min_validators)
		}

		pub(crate) fn now() -> u32 {
			frame_system::Pallet::<T>::block_number().saturated_into()
		}

		fn check_spec(spec: &TaskSpecOf<T>) -> DispatchResult {
			ensure!(spec.reward_per_round >= T::MinRewardPerRound::get(), Error::<T>::RewardTooLow);
			ensure!(
				spec.reward_per_round >= T::Currency::minimum_balance(),
				Error::<T>::RewardTooLow
			);
			let max_phase = T::MaxPhaseBlocks::get();
			let phases_ok = [spec.commit_blocks, spec.reveal_blocks, spec.vote_blocks, spec.attest_blocks]
				.iter()
				.all(|b| *b >= 1 && *b <= max_phase);
			let rule_ok = match spec.rule {
				AggregationRule::FedAvg | AggregationRule::Median => true,
				AggregationRule::TrimmedMean { beta } => beta < sp_arithmetic::Permill::from_percent(50),
				AggregationRule::MultiKrum { byzantine, keep } =>
					keep >= 1 && keep <= spec.max_contributors && byzantine < spec.max_contributors,
			};
			ensure!(
				!spec.model_cid.is_empty() &&
					spec.rounds >= 1 && spec.rounds <= T::MaxRounds::get() &&
					spec.min_contributors >= 1 &&
					spec.min_contributors <= spec.max_contributors &&
					spec.max_contributors <= T::MaxContributors::get() &&
					!spec.quorum.is_zero() &&
					spec.min_validators >= 1 &&
					spec.min_validators <= T::MaxValidators::get() &&
					spec.max_examples >= 1 &&
					phases_ok && rule_ok,
				Error::<T>::InvalidSpec
			);
			Ok(())
		}

		fn active_task(task_id: TaskId) -> Result<TaskInfoOf<T>, DispatchError> {
			let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
			ensure!(task.status == TaskStatus::Active, Error::<T>::TaskNotActive);
			Self::advance(task_id, &mut task);
			Ok(task)
		}

		fn ensure_contributor(task_id: TaskId, who: &T::AccountId) -> DispatchResult {
			let roles = Members::<T>::get(task_id, who).ok_or(Error::<T>::NotMember)?;
			ensure!(roles.contributor, Error::<T>::NotContributor);
			Ok(())
		}

		fn ensure_validator(task_id: TaskId, who: &T::AccountId) -> DispatchResult {
			let roles = Members::<T>::get(task_id, who).ok_or(Error::<T>::NotValidator)?;
			ensure!(roles.validator, Error::<T>::NotValidator);
			Ok(())
		}

		/// Close phases whose deadline passed or whose expected participants all acted.
		///
		/// A phase closed by its deadline hands over at the deadline block (so the schedule does
		/// not depend on when someone calls); a phase closed early hands over now. A round that
		/// can no longer succeed (too few commitments, reveals or voters) jumps to an already
		/// expired `Aggregate` phase, where `finalize_round` fails it at once.
		pub(crate) fn advance(task_id: TaskId, task: &mut TaskInfoOf<T>) {
			let now = Self::now();
			let spec = &task.spec;
			loop {
				let expired = now >= task.phase_ends_at;
				let start = if expired { task.phase_ends_at } else { now };
				let (next, len, viable) = match task.phase {
					Phase::Commit => {
						let committed = SubmissionCount::<T>::get((task_id, task.round));
						let all_in = committed == task.num_contributors &&
							committed >= spec.min_contributors;
						if !(expired || all_in) {
							break;
						}
						(Phase::Reveal, spec.reveal_blocks, committed >= spec.min_contributors)
					},
					Phase::Reveal => {
						let committed = SubmissionCount::<T>::get((task_id, task.round));
						if !(expired || task.revealed == committed) {
							break;
						}
						(Phase::Vote, spec.vote_blocks, task.revealed >= spec.min_contributors)
					},
					Phase::Vote => {
						let all_in = task.voters == task.num_validators &&
							task.voters >= spec.min_validators;
						if !(expired || all_in) {
							break;
						}
						(Phase::Aggregate, spec.attest_blocks, task.voters >= spec.min_validators)
					},
					Phase::Aggregate => break,
				};
				let (phase, ends_at) = if viable {
					(next, start.saturating_add(len))
				} else {
					(Phase::Aggregate, start)
				};
				task.phase = phase;
				task.phase_ends_at = ends_at;
				Self::deposit_event(Event::PhaseChanged {
					task_id,
					round: task.round,
					phase,
					ends_at,
				});
			}
		}

		fn adjust_reputation(who: &T::AccountId, up: bool) {
			Participants::<T>::mutate(who, |info| {
				if let Some(info) = info {
					info.reputation = if up {
						info.reputation.saturating_add(1).min(MAX_REPUTATION)
					} else {
						info.reputation.saturating_sub(1)
					};
				}
			});
		}

		fn pay(
			task_id: TaskId,
			round: RoundIndex,
			who: &T::AccountId,
			amount: BalanceOf<T>,
		) -> Result<BalanceOf<T>, DispatchError> {
			if amount.is_zero() {
				return Ok(amount);
			}
			// A payment below the existential deposit to an empty account cannot be made: it
			// stays in escrow (dust).
			if T::Currency::balance(who) < T::Currency::minimum_balance() &&
				amount < T::Currency::minimum_balance()
			{
				return Ok(Zero::zero());
			}
			T::Currency::transfer(&Self::escrow_account(task_id), who, amount, Preservation::Preserve)?;
			Self::deposit_event(Event::RewardPaid { task_id, round, who: who.clone(), amount });
			Ok(amount)
		}

		/// Move everything on the task's escrow account back to `creator`.
		fn refund_escrow(
			task_id: TaskId,
			creator: &T::AccountId,
		) -> Result<BalanceOf<T>, DispatchError> {
			let escrow = Self::escrow_account(task_id);
			let all = T::Currency::balance(&escrow);
			if all.is_zero() {
				return Ok(all);
			}
			T::Currency::transfer(&escrow, creator, all, Preservation::Expendable)
		}

		/// Drop the task's memberships and release the members' task counts; returns how many.
		fn release_members(task_id: TaskId) -> u32 {
			let mut n = 0u32;
			for (who, roles) in Members::<T>::drain_prefix(task_id) {
				n += 1;
				Participants::<T>::mutate(&who, |info| {
					if let Some(info) = info {
						if roles.contributor {
							info.contributor_tasks = info.contributor_tasks.saturating_sub(1);
						}
						if roles.validator {
							info.validator_tasks = info.validator_tasks.saturating_sub(1);
						}
					}
				});
			}
			n
		}

		/// Slash up to `ProposalPenalty` from a proposer's stake into the task's escrow.
		fn penalise(task_id: TaskId, who: &T::AccountId) -> BalanceOf<T> {
			let Some(mut info) = Participants::<T>::get(who) else { return Zero::zero() };
			let staked = info
				.validator_stake
				.unwrap_or_default()
				.saturating_add(info.contributor_stake.unwrap_or_default());
			let amount = T::ProposalPenalty::get().min(staked);
			if amount.is_zero() {
				return amount;
			}
			let Ok(slashed) = T::Currency::transfer_on_hold(
				&HoldReason::Stake.into(),
				who,
				&Self::escrow_account(task_id),
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			) else {
				return Zero::zero();
			};
			// Take it from the validator stake first, then the contributor stake.
			let mut rest = slashed;
			if let Some(s) = info.validator_stake.as_mut() {
				let cut = rest.min(*s);
				*s -= cut;
				rest -= cut;
			}
			if let Some(s) = info.contributor_stake.as_mut() {
				let cut = rest.min(*s);
				*s -= cut;
			}
			info.reputation = info.reputation.saturating_sub(1);
			Participants::<T>::insert(who, info);
			slashed
		}

		fn do_finalize(task_id: TaskId, task: &mut TaskInfoOf<T>) -> DispatchResultWithPostInfo {
			let round = task.round;
			let key = (task_id, round);
			let now = Self::now();
			let count = SubmissionCount::<T>::get(key);
			let mut subs: Vec<Submission<T::AccountId>> = Vec::with_capacity(count as usize);
			for i in 0..count {
				if let Some(s) = Submissions::<T>::get(key, i) {
					subs.push(s);
				}
			}
			let accepted: Vec<bool> = subs
				.iter()
				.map(|s| s.status == SubmissionStatus::Revealed && Self::is_accepted(task, s.accepts))
				.collect();
			let n_accepted = accepted.iter().filter(|a| **a).count() as u32;
			let enough = n_accepted >= task.spec.min_contributors;
			let proposals = Proposals::<T>::get(key);
			let n_proposals = proposals.len() as u32;
			let adopted = task.adopted.and_then(|i| proposals.get(i as usize).cloned());

			let mut members_released = 0u32;
			let mut voters = 0u32;
			match adopted {
				Some(model) if enough => {
					// Submissions: statuses, reputations, contributor rewards.
					let reward = task.spec.reward_per_round;
					let validator_pool = task.spec.validator_share * reward;
					let contributor_pool = reward.saturating_sub(validator_pool);
					let cap = task.spec.max_examples;
					let total_weight: u128 = subs
						.iter()
						.zip(accepted.iter())
						.filter(|(_, a)| **a)
						.map(|(s, _)| s.num_examples.min(cap) as u128)
						.sum();
					let pool: u128 = contributor_pool.saturated_into();
					let mut contributor_rewards: BalanceOf<T> = Zero::zero();
					let (mut rejected, mut void) = (0u32, 0u32);
					for (i, (mut sub, ok)) in subs.into_iter().zip(accepted.iter()).enumerate() {
						sub.status = match (sub.status, ok) {
							(SubmissionStatus::Revealed, true) => SubmissionStatus::Accepted,
							(SubmissionStatus::Revealed, false) => SubmissionStatus::Rejected,
							_ => SubmissionStatus::Void,
						};
						Self::adjust_reputation(&sub.contributor, *ok);
						match sub.status {
							SubmissionStatus::Accepted => {
								let w = sub.num_examples.min(cap) as u128;
								let share = multiply_by_rational_with_rounding(
									pool,
									w,
									total_weight.max(1),
									Rounding::Down,
								)
								.unwrap_or(0);
								let paid = Self::pay(
									task_id,
									round,
									&sub.contributor,
									share.saturated_into(),
								)?;
								contributor_rewards = contributor_rewards.saturating_add(paid);
							},
							SubmissionStatus::Rejected => rejected += 1,
							_ => void += 1,
						}
						Submissions::<T>::insert(key, i as u32, sub);
					}
					// Validators: agreeing = every verdict matches the outcome and it attested
					// the adopted hash.
					let mut agreeing: Vec<T::AccountId> = Vec::new();
					for (validator, verdicts) in Votes::<T>::iter_prefix(key) {
						voters += 1;
						let matches = verdicts.iter().all(|v| {
							accepted.get(v.submission as usize).copied().unwrap_or(false) == v.accept
						});
						let attested = Attestations::<T>::get(key, &validator)
							.is_some_and(|(h, _)| h == model.hash);
						let agrees = matches && attested;
						Self::adjust_reputation(&validator, agrees);
						if agrees {
							agreeing.push(validator);
						}
					}
					let mut validator_rewards: BalanceOf<T> = Zero::zero();
					if !agreeing.is_empty() {
						let each: u128 = validator_pool.saturated_into::<u128>() / agreeing.len() as u128;
						for v in agreeing.iter() {
							let paid = Self::pay(task_id, round, v, each.saturated_into())?;
							validator_rewards = validator_rewards.saturating_add(paid);
						}
					}
					// Losing proposers.
					let mut slashed_total: BalanceOf<T> = Zero::zero();
					for p in proposals.iter().filter(|p| p.hash != model.hash) {
						let amount = Self::penalise(task_id, &p.proposer);
						slashed_total = slashed_total.saturating_add(amount);
						Self::deposit_event(Event::ProposerPenalised {
							task_id,
							round,
							who: p.proposer.clone(),
							amount,
						});
					}
					let paid = contributor_rewards.saturating_add(validator_rewards);
					task.escrow = task.escrow.saturating_sub(paid).saturating_add(slashed_total);
					task.paid = task.paid.saturating_add(paid);
					let attested_score =
						(model.score_sum / (model.attestations.max(1) as u64)) as u32;
					RoundSummaries::<T>::insert(
						key,
						RoundSummary {
							model_cid: model.cid.clone(),
							model_hash: model.hash,
							accepted: n_accepted,
							rejected,
							void,
							attested_score,
							contributor_rewards,
							validator_rewards,
							retries: task.retries,
							finalized_at: now,
						},
					);
					task.model_cid = model.cid;
					task.model_hash = model.hash;
					Self::deposit_event(Event::RoundFinalized {
						task_id,
						round,
						accepted: n_accepted,
						rejected,
						attested_score,
						contributor_rewards,
						validator_rewards,
					});
					if round + 1 >= task.spec.rounds {
						members_released = Self::finish(task_id, task)?;
					} else {
						task.round = round + 1;
						task.retries = 0;
						Self::open_round(task_id, task, now);
					}
				},
				_ => {
					// The round cannot succeed any more, or has not finished yet.
					ensure!(
						!enough || now >= task.phase_ends_at,
						Error::<T>::RoundNotFinished
					);
					for sub in subs.iter() {
						if sub.status == SubmissionStatus::Committed {
							Self::adjust_reputation(&sub.contributor, false);
						}
					}
					let _ = Submissions::<T>::clear_prefix(key, count.max(1), None);
					let _ = CommitmentOf::<T>::clear_prefix(key, count.max(1), None);
					let validators = T::MaxValidators::get();
					let _ = Votes::<T>::clear_prefix(key, validators, None);
					let _ = Attestations::<T>::clear_prefix(key, validators, None);
					SubmissionCount::<T>::remove(key);
					Proposals::<T>::remove(key);
					task.retries = task.retries.saturating_add(1);
					voters = task.voters;
					Self::deposit_event(Event::RoundFailed { task_id, round, retries: task.retries });
					if task.retries > task.spec.max_retries {
						members_released = Self::finish(task_id, task)?;
					} else {
						Self::open_round(task_id, task, now);
					}
				},
			}
			Tasks::<T>::insert(task_id, task.clone());
			Ok(PostDispatchInfo {
				actual_weight: Some(T::WeightInfo::finalize_round(
					count,
					voters,
					n_proposals,
					members_released,
				)),
				pays_fee: Pays::Yes,
			})
		}

		fn open_round(task_id: TaskId, task: &mut TaskInfoOf<T>, now: u32) {
			task.phase = Phase::Commit;
			task.phase_ends_at = now.saturating_add(task.spec.commit_blocks);
			task.revealed = 0;
			task.voters = 0;
			task.adopted = None;
			Self::deposit_event(Event::PhaseChanged {
				task_id,
				round: task.round,
				phase: Phase::Commit,
				ends_at: task.phase_ends_at,
			});
		}

		fn finish(task_id: TaskId, task: &mut TaskInfoOf<T>) -> Result<u32, DispatchError> {
			let refunded = Self::refund_escrow(task_id, &task.creator)?;
			let members = Self::release_members(task_id);
			task.status = TaskStatus::Finished;
			task.escrow = Zero::zero();
			Self::deposit_event(Event::TaskFinished {
				task_id,
				model_cid: task.model_cid.clone(),
				model_hash: task.model_hash,
				refunded,
			});
			Ok(members)
		}
	}
}
