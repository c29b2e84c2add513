//! # DecentralMl pallet
//!
//! Coordinates federated-learning tasks on chain and keeps their ledger:
//!
//! - a **registry** of participants (contributors and validators) with held stakes, an X25519
//!   key each and a reputation;
//! - **tasks** whose whole reward is escrowed on a per-task sub-account of [`Config::PalletId`],
//!   with a storage deposit held from the creator until [`Pallet::purge_task`] cleans up;
//! - **per-task bonds**: every member bonds stake in the task it joins (one role per account per
//!   task, creator-chosen admission); influence and pay follow the bond, not the head count;
//! - **rounds** run as a phase machine: `Enrol` → `Commit` → `Reveal` → `VoteCommit` →
//!   `VoteReveal` → `Aggregate`, closed by block deadlines or early, as soon as everybody
//!   expected has acted. The **electorate** of a round attempt (validators and their bonds) is
//!   fixed when the attempt opens; later joiners take part from the next round;
//! - **commit–reveal** of model updates (commitments bind task, round, attempt, account, hash and
//!   example count), **sealed votes** (commit, then reveal once the commit window closed),
//!   acceptance by stake quorum, aggregate **attestation** by stake quorum, and **finalisation**
//!   that pays by agreement with the stake-weighted consensus (only verdicts carrying evidence
//!   of this round's evaluation, a probe on the consensus probe, count), slashes silence and
//!   losing or unevidenced verdicts or aggregates into the escrow, updates reputations and opens
//!   the next round (or retries a failed one, a bounded number of times).
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
	use sp_arithmetic::{helpers_128bit::multiply_by_rational_with_rounding, Permill, Rounding};
	use sp_runtime::{
		traits::{AccountIdConversion, CheckedAdd, CheckedMul, Saturating, Zero},
		SaturatedConversion,
	};

	/// The balance type of the currency the pallet uses.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A task as stored.
	pub type TaskInfoOf<T> = TaskInfo<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
	/// A task specification with the runtime's balance.
	pub type TaskSpecOf<T> = TaskSpec<BalanceOf<T>>;
	/// A submission with the runtime's account and balance.
	pub type SubmissionOf<T> = Submission<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
	/// A proposal with the runtime's account and balance.
	pub type ProposalOf<T> = Proposal<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
	/// A round attempt's electorate: validators and their bonds.
	pub type ElectorateOf<T> =
		BoundedVec<(<T as frame_system::Config>::AccountId, BalanceOf<T>), <T as Config>::MaxValidators>;

	/// Parts per million, the unit of the agreement and closeness factors of validator pay.
	pub const PPM: u128 = 1_000_000;

	/// The storage version: 2 added `MemberInfo.joined_bond` and `idle_rounds` and
	/// `TaskSpec.max_idle_rounds` (no migration: chains of version 1 start again from genesis).
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;

		/// The currency: stakes, bonds and deposits are held on it, escrow and rewards are
		/// transferred in it.
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

		/// Smallest `contributor_bond` (in plancks) a task may ask for.
		#[pallet::constant]
		type MinContributorBond: Get<BalanceOf<Self>>;

		/// Smallest `validator_bond` (in plancks) a task may ask for.
		#[pallet::constant]
		type MinValidatorBond: Get<BalanceOf<Self>>;

		/// Most retries (count) of a failed round a task may ask for.
		#[pallet::constant]
		type MaxRetries: Get<u32>;

		/// Fraction of the bond slashed from an electorate validator that revealed no vote in a
		/// round attempt, and from a contributor that committed but did not reveal.
		#[pallet::constant]
		type SilenceSlash: Get<Permill>;

		/// Fraction of the bond slashed from a validator, times the fraction of its verdicts that
		/// lost: that disagreed with the consensus, or whose probe is off the consensus probe (a
		/// verdict without evidence of this round's evaluation counts as a losing verdict).
		#[pallet::constant]
		type VerdictSlash: Get<Permill>;

		/// Fraction of the bond slashed (once per round attempt) from a validator that proposed or
		/// attested an aggregate hash that was not adopted while another was.
		#[pallet::constant]
		type LosingAttestSlash: Get<Permill>;

		/// Score distance (basis points) at which a validator's closeness to the consensus score
		/// reaches 0; at least 1.
		#[pallet::constant]
		type ScoreTolerance: Get<u32>;

		/// Relative distance (parts per million of the consensus probe) within which a verdict's
		/// `probe` counts as evidence of evaluation: a verdict is evidenced when
		/// `|probe − median probe| <= max(ProbeFloor, ProbeTolerance × median probe)`, the product
		/// rounded down. The runtime uses 1 000 ppm (0.1 %).
		#[pallet::constant]
		type ProbeTolerance: Get<Permill>;

		/// Absolute distance (probe units of 1e-9) within which a verdict's `probe` always counts
		/// as evidence: the floor of the probe tolerance, for probes near 0. The runtime uses
		/// 1 000 (1e-6).
		#[pallet::constant]
		type ProbeFloor: Get<u32>;

		/// Storage deposit (in plancks) held from a task's creator until `purge_task` has removed
		/// the task's round data.
		#[pallet::constant]
		type TaskDeposit: Get<BalanceOf<Self>>;

		/// Most contributors a task may have (also the most submissions in a round).
		#[pallet::constant]
		type MaxContributors: Get<u32>;

		/// Most validators a task may have (also the most proposals in a round).
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Most verdicts one vote may carry.
		#[pallet::constant]
		type MaxVerdicts: Get<u32>;

		/// Most rounds a task may ask for.
		#[pallet::constant]
		type MaxRounds: Get<u32>;

		/// Longest phase (in blocks) a task may ask for.
		#[pallet::constant]
		type MaxPhaseBlocks: Get<u32>;

		/// Most accounts (count) one `set_allowed` call may carry.
		#[pallet::constant]
		type MaxAllowListBatch: Get<u32>;

		/// Largest `max_idle_rounds` (count of consecutive idle round attempts) a task may set.
		#[pallet::constant]
		type MaxIdleRounds: Get<u32>;

		/// Fraction of the bond moved to the task's escrow from a member that loses its seat for
		/// being idle `max_idle_rounds` consecutive round attempts (the rest is released).
		#[pallet::constant]
		type IdleSlash: Get<Permill>;

		/// Weights of the calls.
		type WeightInfo: WeightInfo;
	}

	/// Why the pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Stake of a registered contributor or validator.
		Stake,
		/// Bond of a member of a task, slashable by the task's rules.
		TaskBond,
		/// Storage deposit of a task's creator, returned by `purge_task`.
		TaskDeposit,
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

	/// Each member's role, bond and first round in a task (cleared when the task ends).
	#[pallet::storage]
	pub type Members<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		TaskId,
		Blake2_128Concat,
		T::AccountId,
		MemberInfo<BalanceOf<T>>,
	>;

	/// The validators that joined a task, in joining order.
	#[pallet::storage]
	pub type TaskValidators<T: Config> =
		StorageMap<_, Twox64Concat, TaskId, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

	/// The electorate of a round's current attempt: the validators (and their bonds) that may
	/// vote, propose and attest, fixed when the attempt opened.
	#[pallet::storage]
	pub type Electorate<T: Config> =
		StorageMap<_, Twox64Concat, (TaskId, RoundIndex), ElectorateOf<T>, ValueQuery>;

	/// The submissions of a round by index (a failed attempt's submissions are cleared).
	#[pallet::storage]
	pub type Submissions<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Twox64Concat,
		SubmissionIndex,
		SubmissionOf<T>,
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

	/// Update hashes revealed in a round (kept across retries): a hash is accepted once.
	#[pallet::storage]
	pub type UpdateHashes<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Identity,
		H256,
		SubmissionIndex,
	>;

	/// Each electorate validator's sealed vote (a commitment) in a round attempt.
	#[pallet::storage]
	pub type VoteCommits<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Blake2_128Concat,
		T::AccountId,
		H256,
	>;

	/// Each validator's revealed verdicts in a round attempt (nothing before the reveal phase).
	#[pallet::storage]
	pub type Votes<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<Verdict, T::MaxVerdicts>,
	>;

	/// The aggregates proposed in a round attempt, in proposal order.
	#[pallet::storage]
	pub type Proposals<T: Config> = StorageMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		BoundedVec<ProposalOf<T>, T::MaxValidators>,
		ValueQuery,
	>;

	/// Each validator's attestation in a round attempt: the hash it attested and its score.
	#[pallet::storage]
	pub type Attestations<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(TaskId, RoundIndex),
		Blake2_128Concat,
		T::AccountId,
		(H256, u32),
	>;

	/// Accounts the creator allowed to join a task with `Admission::AllowList`.
	#[pallet::storage]
	pub type AllowList<T: Config> =
		StorageDoubleMap<_, Twox64Concat, TaskId, Blake2_128Concat, T::AccountId, ()>;

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
		/// A task was created; `escrow` (all rounds' rewards) moved to its escrow account and
		/// `deposit` is held from the creator until the task is purged.
		TaskCreated {
			task_id: TaskId,
			creator: T::AccountId,
			escrow: BalanceOf<T>,
			deposit: BalanceOf<T>,
		},
		/// An account joined a task in a role, bonding `bond`; it takes part from `from_round`.
		TaskJoined {
			task_id: TaskId,
			who: T::AccountId,
			role: Role,
			bond: BalanceOf<T>,
			from_round: RoundIndex,
		},
		/// A member left a task; its remaining bond `released` is free again.
		TaskLeft { task_id: TaskId, who: T::AccountId, released: BalanceOf<T> },
		/// A member engaged in the current round attempt will leave: it is out of the next
		/// electorate and is removed (`TaskLeft`) when the attempt is finalised.
		LeaveScheduled { task_id: TaskId, who: T::AccountId },
		/// A member eligible in round `round` did not act in it (no commitment, or no revealed
		/// vote when the attempt reached the vote): `idle_rounds` consecutive idle attempts.
		MemberIdle { task_id: TaskId, round: RoundIndex, who: T::AccountId, idle_rounds: u32 },
		/// A member lost its seat at the end of round `round`: `released` of its bond is free.
		SeatLost {
			task_id: TaskId,
			round: RoundIndex,
			who: T::AccountId,
			reason: SeatLoss,
			released: BalanceOf<T>,
		},
		/// The creator changed the task's allow-list: `count` accounts are now (dis)allowed.
		AllowListUpdated { task_id: TaskId, allowed: bool, count: u32 },
		/// The creator cancelled a task during a round: it ends when round `round` is finalised.
		CancelScheduled { task_id: TaskId, round: RoundIndex },
		/// The task was cancelled: `paid` had been paid out, `refunded` went back to the creator.
		TaskCancelled { task_id: TaskId, paid: BalanceOf<T>, refunded: BalanceOf<T> },
		/// A round attempt opened with an electorate of `size` validators bonding `stake`.
		ElectorateFixed { task_id: TaskId, round: RoundIndex, size: u32, stake: BalanceOf<T> },
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
		/// A validator committed to its sealed vote.
		VoteCommitted { task_id: TaskId, round: RoundIndex, validator: T::AccountId },
		/// A validator revealed its vote of `verdicts` verdicts (stored in `Votes`).
		VoteRevealed { task_id: TaskId, round: RoundIndex, validator: T::AccountId, verdicts: u32 },
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
		/// An aggregate reached the attestation stake quorum: it becomes the next global model.
		ModelAdopted {
			task_id: TaskId,
			round: RoundIndex,
			cid: Cid,
			hash: H256,
			attestations: u32,
			attest_stake: BalanceOf<T>,
		},
		/// A round was finalised and paid.
		RoundFinalized {
			task_id: TaskId,
			round: RoundIndex,
			accepted: u32,
			rejected: u32,
			attested_score: u32,
			contributor_rewards: BalanceOf<T>,
			validator_rewards: BalanceOf<T>,
			slashed: BalanceOf<T>,
		},
		/// A round attempt failed (too few accepted updates, votes or attestations); the model
		/// stays, the reward stays in escrow and the round restarts (`retries` so far).
		RoundFailed { task_id: TaskId, round: RoundIndex, retries: u32 },
		/// A reward was paid from the task's escrow.
		RewardPaid { task_id: TaskId, round: RoundIndex, who: T::AccountId, amount: BalanceOf<T> },
		/// A member's bond lost `amount` to the task's escrow.
		Slashed {
			task_id: TaskId,
			round: RoundIndex,
			who: T::AccountId,
			reason: SlashReason,
			amount: BalanceOf<T>,
		},
		/// The task ended; its final model is recorded and `refunded` went back to the creator.
		TaskFinished { task_id: TaskId, model_cid: Cid, model_hash: H256, refunded: BalanceOf<T> },
		/// `purge_task` removed `removed` keys of an ended task's round data.
		TaskDataRemoved { task_id: TaskId, removed: u32 },
		/// All round data of an ended task is gone; the creator's deposit `released` is free.
		TaskPurged { task_id: TaskId, released: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No task has this id.
		UnknownTask,
		/// The task has finished or was cancelled.
		TaskNotActive,
		/// The task is still running: only an ended task can be purged.
		TaskStillActive,
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
		/// The account is not in this round's electorate (validators fixed when the round opened).
		NotInElectorate,
		/// The account joined during this round: it takes part from the next round.
		NotYetEligible,
		/// The account already joined this task (one role per account per task).
		AlreadyJoined,
		/// The task's creator cannot join its own task.
		CreatorCannotJoin,
		/// The task admits allow-listed accounts only, and this account is not on the list.
		NotAllowed,
		/// The task admits accounts with a higher reputation only.
		ReputationTooLow,
		/// The bond is below the task's (or the runtime's) minimum for this role.
		BondTooLow,
		/// The task has no room left for this role.
		TaskFull,
		/// The member already asked to leave; it leaves when the round attempt is finalised.
		AlreadyLeaving,
		/// The account is not registered for this role.
		NotRegistered,
		/// The account is already registered for this role.
		AlreadyRegistered,
		/// The account still takes part in an active task in this role.
		HasOpenCommitments,
		/// The stake is below the role's minimum.
		StakeTooLow,
		/// The account cannot afford the stake, bond, deposit or escrow.
		InsufficientBalance,
		/// The reward per round is below the minimum.
		RewardTooLow,
		/// The task specification is inconsistent (see the docs for the rules).
		InvalidSpec,
		/// The task asks for more retries than the runtime's `MaxRetries`.
		RetriesTooHigh,
		/// The task's `max_idle_rounds` is above the runtime's `MaxIdleRounds`.
		IdleRoundsTooHigh,
		/// The server optimiser's learning rate must be above zero and at most 100.0
		/// (100 000 000 millionths).
		ServerLearningRateInvalid,
		/// The server optimiser's momentum and decay rates (`momentum`, `beta1`, `beta2`) must be
		/// below 100 %.
		ServerDecayInvalid,
		/// Adam and Yogi need an adaptivity `tau` above zero (it keeps their step finite).
		ServerTauZero,
		/// `ExampleWeighting::Claimed` trusts each contributor's unverifiable `num_examples` up
		/// to `max_examples`: a task with `Admission::Open` must use `MedianCapped` (choose
		/// `AllowList` or `MinReputation` admission to weight by claims).
		ClaimedWeightingNeedsClosedAdmission,
		/// Only the task's creator may do this.
		NotTaskCreator,
		/// The task's cancellation is already scheduled for the end of the round.
		CancelPending,
		/// The account already committed in this round.
		AlreadyCommitted,
		/// The account has no commitment in this round.
		NoCommitment,
		/// The update or vote was already revealed.
		AlreadyRevealed,
		/// The revealed update does not match the commitment (task, round, attempt, account,
		/// hash, example count and salt are all bound).
		CommitmentMismatch,
		/// This update hash was already revealed in this round.
		DuplicateUpdate,
		/// `num_examples` must be at least 1.
		NoExamples,
		/// The validator already committed a vote in this round attempt.
		AlreadyVoted,
		/// Votes stay sealed until the vote commit window has closed: reveal in the reveal phase.
		VotesSealed,
		/// The validator committed no vote in this round attempt.
		NoVoteCommitment,
		/// The revealed verdicts and salt do not match the vote commitment.
		VoteMismatch,
		/// A vote must judge every revealed submission exactly once, in ascending order.
		IncompleteVote,
		/// A vote carries more verdicts than `MaxVerdicts`.
		TooManyVerdicts,
		/// A score is above 10 000 basis points.
		InvalidScore,
		/// This hash was already proposed in this round.
		DuplicateProposal,
		/// The account already proposed an aggregate in this round.
		AlreadyProposed,
		/// No aggregate with this hash was proposed in this round.
		UnknownProposal,
		/// The proposal with this hash names another CID.
		ProposalMismatch,
		/// The validator already attested in this round.
		AlreadyAttested,
		/// The round cannot be finalised yet: wait for the electorate's attestations or the
		/// aggregation deadline.
		RoundNotFinished,
		/// A bound would be exceeded: the task ids are exhausted (also the defensive answer to
		/// a submission or proposal list found full, which the seat limits make impossible).
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
			ensure!(Self::can_hold(&who, stake), Error::<T>::InsufficientBalance);
			*slot = Some(stake);
			info.x25519_key = x25519_key;
			T::Currency::hold(&HoldReason::Stake.into(), &who, stake)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Participants::<T>::insert(&who, info);
			Self::deposit_event(Event::Registered { who, role, stake });
			Ok(())
		}

		/// Leave `role` and release its stake. Refused while the account is a member of an
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
		/// account, `TaskDeposit` is held until `purge_task`, and the task opens for enrolment.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::create_task())]
		pub fn create_task(origin: OriginFor<T>, spec: TaskSpecOf<T>) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			Self::check_spec(&spec)?;
			let escrow = spec
				.reward_per_round
				.checked_mul(&BalanceOf::<T>::from(spec.rounds))
				.ok_or(Error::<T>::InvalidSpec)?;
			let existential = T::Currency::minimum_balance();
			let total = escrow.checked_add(&existential).ok_or(Error::<T>::InvalidSpec)?;
			let deposit = T::TaskDeposit::get();
			let needed = total.checked_add(&deposit).ok_or(Error::<T>::InsufficientBalance)?;
			ensure!(
				T::Currency::reducible_balance(&creator, Preservation::Preserve, Fortitude::Polite) >=
					needed,
				Error::<T>::InsufficientBalance
			);
			let task_id = NextTaskId::<T>::get();
			let next = task_id.checked_add(1).ok_or(Error::<T>::BoundsExceeded)?;
			let now = Self::now();
			let ends_at = now.saturating_add(spec.enrol_blocks);
			T::Currency::transfer(
				&creator,
				&Self::escrow_account(task_id),
				total,
				Preservation::Preserve,
			)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
			if !deposit.is_zero() {
				T::Currency::hold(&HoldReason::TaskDeposit.into(), &creator, deposit)
					.map_err(|_| Error::<T>::InsufficientBalance)?;
			}
			let task = TaskInfo {
				creator: creator.clone(),
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
			};
			Tasks::<T>::insert(task_id, task);
			NextTaskId::<T>::put(next);
			Self::deposit_event(Event::TaskCreated { task_id, creator, escrow, deposit });
			Self::deposit_event(Event::PhaseChanged {
				task_id,
				round: 0,
				phase: Phase::Enrol,
				ends_at,
			});
			Ok(())
		}

		/// Join an active task in `role`, bonding `bond` (at least the task's bond for the role).
		/// The account must be registered for the role, not be the creator, not hold another
		/// role in the task, and pass the task's admission; joiners after enrolment take part
		/// from the next round.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::join_task())]
		pub fn join_task(
			origin: OriginFor<T>,
			task_id: TaskId,
			role: Role,
			bond: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			let mut info = Participants::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let registered = match role {
				Role::Contributor => info.contributor_stake.is_some(),
				Role::Validator => info.validator_stake.is_some(),
			};
			ensure!(registered, Error::<T>::NotRegistered);
			ensure!(task.creator != who, Error::<T>::CreatorCannotJoin);
			ensure!(!Members::<T>::contains_key(task_id, &who), Error::<T>::AlreadyJoined);
			match task.spec.admission {
				Admission::Open => {},
				Admission::AllowList =>
					ensure!(AllowList::<T>::contains_key(task_id, &who), Error::<T>::NotAllowed),
				Admission::MinReputation(min) =>
					ensure!(info.reputation >= min, Error::<T>::ReputationTooLow),
			}
			let min_bond = match role {
				Role::Contributor => task.spec.contributor_bond,
				Role::Validator => task.spec.validator_bond,
			};
			ensure!(bond >= min_bond, Error::<T>::BondTooLow);
			let mut validators = TaskValidators::<T>::get(task_id);
			match role {
				Role::Contributor => ensure!(
					task.num_contributors < task.spec.max_contributors,
					Error::<T>::TaskFull
				),
				Role::Validator => {
					ensure!(task.num_validators < task.spec.max_validators, Error::<T>::TaskFull);
					validators.try_push(who.clone()).map_err(|_| Error::<T>::TaskFull)?;
				},
			}
			ensure!(Self::can_hold(&who, bond), Error::<T>::InsufficientBalance);
			// Write.
			T::Currency::hold(&HoldReason::TaskBond.into(), &who, bond)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			let from_round = if task.phase == Phase::Enrol { 0 } else { task.round.saturating_add(1) };
			let pending = from_round > task.round;
			match role {
				Role::Contributor => {
					task.num_contributors += 1;
					task.pending_contributors += pending as u32;
					info.contributor_tasks = info.contributor_tasks.saturating_add(1);
				},
				Role::Validator => {
					task.num_validators += 1;
					task.pending_validators += pending as u32;
					info.validator_tasks = info.validator_tasks.saturating_add(1);
					TaskValidators::<T>::insert(task_id, validators);
				},
			}
			Members::<T>::insert(
				task_id,
				&who,
				MemberInfo { role, bond, joined_bond: bond, from_round, leaving: false, idle_rounds: 0 },
			);
			Participants::<T>::insert(&who, info);
			Self::deposit_event(Event::TaskJoined { task_id, who, role, bond, from_round });
			Self::advance(task_id, &mut task);
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Cancel an active task (creator only). During enrolment, or before the first commitment
		/// of a round, the task ends at once: the escrow goes back to the creator and all bonds
		/// are released. Otherwise the cancellation waits for the current round: the round is
		/// finalised as usual (its accepted work paid if it succeeds) and then the task ends.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::cancel_task(T::MaxContributors::get() + T::MaxValidators::get()))]
		pub fn cancel_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(task.creator == who, Error::<T>::NotTaskCreator);
			ensure!(!task.cancel_requested, Error::<T>::CancelPending);
			let untouched = task.phase == Phase::Enrol ||
				(task.phase == Phase::Commit &&
					SubmissionCount::<T>::get((task_id, task.round)) == 0);
			if untouched {
				let members = Self::end_task(task_id, &mut task, TaskStatus::Cancelled)?;
				Tasks::<T>::insert(task_id, task);
				return Ok(Some(T::WeightInfo::cancel_task(members)).into())
			}
			task.cancel_requested = true;
			Self::deposit_event(Event::CancelScheduled { task_id, round: task.round });
			Tasks::<T>::insert(task_id, task);
			Ok(Some(T::WeightInfo::cancel_task(0)).into())
		}

		/// Commit to an update in the commit phase of round `round`: `commitment =
		/// blake2_256(SCALE(task_id: u32, round: u32, attempt: u32, account, update_hash: H256,
		/// num_examples: u64, salt: [u8; 32]))` where `attempt` is the task's `retries`.
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
			let member = Self::ensure_contributor(task_id, &who)?;
			ensure!(member.from_round <= round, Error::<T>::NotYetEligible);
			ensure!(task.phase != Phase::Enrol, Error::<T>::WrongPhase);
			ensure!(task.phase == Phase::Commit, Error::<T>::CommitDeadlinePassed);
			let key = (task_id, round);
			ensure!(!CommitmentOf::<T>::contains_key(key, &who), Error::<T>::AlreadyCommitted);
			let index = SubmissionCount::<T>::get(key);
			// Cannot fail: only eligible contributors commit, once each, and they hold at most
			// `max_contributors` seats (a seat freed mid-round goes to a next-round joiner).
			ensure!(index < task.spec.max_contributors, Error::<T>::BoundsExceeded);
			Submissions::<T>::insert(
				key,
				index,
				Submission {
					contributor: who.clone(),
					commitment,
					cid: None,
					update_hash: None,
					num_examples: 0,
					accept_stake: Zero::zero(),
					reject_stake: Zero::zero(),
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
		/// number of training examples (at least 1) and the commitment's salt. A hash already
		/// revealed in this round is refused.
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
			let expected = Self::update_commitment(
				task_id,
				round,
				task.retries,
				&who,
				&update_hash,
				num_examples,
				&salt,
			);
			ensure!(expected == sub.commitment, Error::<T>::CommitmentMismatch);
			ensure!(!UpdateHashes::<T>::contains_key(key, update_hash), Error::<T>::DuplicateUpdate);
			sub.cid = Some(cid.clone());
			sub.update_hash = Some(update_hash);
			sub.num_examples = num_examples;
			sub.status = SubmissionStatus::Revealed;
			Submissions::<T>::insert(key, index, sub);
			UpdateHashes::<T>::insert(key, update_hash, index);
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

		/// Commit to a sealed vote (vote commit phase, electorate members, once per attempt):
		/// `commitment = blake2_256(SCALE(task_id: u32, round: u32, attempt: u32, account,
		/// verdicts: Vec<Verdict>, salt: [u8; 32]))`, each verdict encoding `submission: u32,
		/// accept: bool, score: u32, probe: u32`. The `probe` is the evidence of evaluation: the
		/// validator's measurement (units of 1e-9) of the updated model on the round's probe batch,
		/// which every validator generates from a seed fixed by the round's revealed update hashes;
		/// only a validator that fetched and ran the update can produce it. Reveal it with
		/// `reveal_vote`.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::commit_vote())]
		pub fn commit_vote(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			commitment: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			ensure!(task.phase == Phase::VoteCommit, Error::<T>::WrongPhase);
			let key = (task_id, round);
			Self::electorate_bond(key, &who).ok_or(Error::<T>::NotInElectorate)?;
			ensure!(!VoteCommits::<T>::contains_key(key, &who), Error::<T>::AlreadyVoted);
			VoteCommits::<T>::insert(key, &who, commitment);
			task.vote_commits = task.vote_commits.saturating_add(1);
			Self::deposit_event(Event::VoteCommitted { task_id, round, validator: who });
			Self::advance(task_id, &mut task);
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Propose the aggregate of round `round`'s accepted updates (aggregation phase,
		/// electorate members only, once per account and round, each hash once).
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::propose_aggregate(T::MaxValidators::get()))]
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
			let key = (task_id, round);
			ensure!(task.phase == Phase::Aggregate, Error::<T>::WrongPhase);
			Self::electorate_bond(key, &who).ok_or(Error::<T>::NotInElectorate)?;
			ensure!(
				task.adopted.is_none() && Self::now() < task.phase_ends_at,
				Error::<T>::AggregationClosed
			);
			let mut proposals = Proposals::<T>::get(key);
			ensure!(proposals.iter().all(|p| p.hash != hash), Error::<T>::DuplicateProposal);
			ensure!(proposals.iter().all(|p| p.proposer != who), Error::<T>::AlreadyProposed);
			proposals
				.try_push(Proposal {
					proposer: who.clone(),
					cid: cid.clone(),
					hash,
					attest_stake: Zero::zero(),
					attestations: 0,
					score_sum: 0,
				})
				// Cannot fail: one proposal per electorate member, at most `MaxValidators`.
				.map_err(|_| Error::<T>::BoundsExceeded)?;
			Proposals::<T>::insert(key, proposals);
			Self::deposit_event(Event::AggregateProposed { task_id, round, proposer: who, cid, hash });
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Attest a proposed aggregate (its CID and hash) with the score (basis points) the
		/// validator measured for it (aggregation phase; electorate members, once per round).
		/// The first hash whose attesting stake reaches the quorum of the electorate stake is
		/// adopted as the next model.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::attest_aggregate(T::MaxValidators::get()))]
		pub fn attest_aggregate(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			cid: Cid,
			hash: H256,
			score: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			let key = (task_id, round);
			ensure!(task.phase == Phase::Aggregate, Error::<T>::WrongPhase);
			let bond = Self::electorate_bond(key, &who).ok_or(Error::<T>::NotInElectorate)?;
			ensure!(
				task.adopted.is_some() || Self::now() < task.phase_ends_at,
				Error::<T>::AggregationClosed
			);
			ensure!(score <= MAX_SCORE, Error::<T>::InvalidScore);
			ensure!(!Attestations::<T>::contains_key(key, &who), Error::<T>::AlreadyAttested);
			let mut proposals = Proposals::<T>::get(key);
			let index =
				proposals.iter().position(|p| p.hash == hash).ok_or(Error::<T>::UnknownProposal)?;
			let proposal = &mut proposals[index];
			ensure!(proposal.cid == cid, Error::<T>::ProposalMismatch);
			proposal.attest_stake = proposal.attest_stake.saturating_add(bond);
			proposal.attestations = proposal.attestations.saturating_add(1);
			proposal.score_sum = proposal.score_sum.saturating_add(score as u64);
			let (attestations, attest_stake) = (proposal.attestations, proposal.attest_stake);
			Attestations::<T>::insert(key, &who, (hash, score));
			Proposals::<T>::insert(key, proposals);
			task.attesters = task.attesters.saturating_add(1);
			Self::deposit_event(Event::AggregateAttested {
				task_id,
				round,
				validator: who,
				hash,
				score,
			});
			if task.adopted.is_none() && attest_stake >= Self::stake_threshold(&task) {
				task.adopted = Some(index as u32);
				Self::deposit_event(Event::ModelAdopted {
					task_id,
					round,
					cid,
					hash,
					attestations,
					attest_stake,
				});
			}
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Finalise round `round` (anyone). With an adopted model and enough accepted updates it
		/// waits until every electorate member attested or the aggregation deadline passed, then
		/// pays, slashes, updates reputations and opens the next round (or ends the task). A
		/// round that cannot succeed — too few accepted updates or votes, or no adoption by the
		/// deadline — fails and is retried (the task ends after `max_retries`).
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::finalize_round(
			T::MaxContributors::get(),
			T::MaxValidators::get(),
			T::MaxValidators::get(),
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

		/// Reveal the sealed vote of round `round` (vote reveal phase only): the verdicts, sorted
		/// by submission, judging every revealed submission exactly once (scores in basis points,
		/// 0..=10 000; probes in units of 1e-9, see [`Verdict::probe`]), and the commitment's salt.
		/// Each verdict adds the validator's electorate bond to the submission's accept or reject
		/// stake (acceptance does not look at the probe).
		///
		/// Pay and slashes at finalisation look at the probe: a verdict whose probe is off the
		/// consensus probe (the bond-weighted median probe of the submission, within
		/// `max(ProbeFloor, ProbeTolerance × median)`) counts as a losing verdict: it earns
		/// nothing and costs bond (`VerdictSlash`), like a verdict against the consensus. Replaying
		/// a past consensus without evaluating this round's updates therefore does not pay.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::reveal_vote(verdicts.len() as u32))]
		pub fn reveal_vote(
			origin: OriginFor<T>,
			task_id: TaskId,
			round: RoundIndex,
			verdicts: Vec<Verdict>,
			salt: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut task = Self::active_task(task_id)?;
			ensure!(round == task.round, Error::<T>::WrongRound);
			match task.phase {
				Phase::VoteReveal => {},
				Phase::Aggregate => return Err(Error::<T>::WrongPhase.into()),
				_ => return Err(Error::<T>::VotesSealed.into()),
			}
			let key = (task_id, round);
			let bond = Self::electorate_bond(key, &who).ok_or(Error::<T>::NotInElectorate)?;
			let commitment = VoteCommits::<T>::get(key, &who).ok_or(Error::<T>::NoVoteCommitment)?;
			ensure!(!Votes::<T>::contains_key(key, &who), Error::<T>::AlreadyRevealed);
			ensure!(
				Self::vote_commitment(task_id, round, task.retries, &who, &verdicts, &salt) ==
					commitment,
				Error::<T>::VoteMismatch
			);
			let verdicts: BoundedVec<Verdict, T::MaxVerdicts> =
				verdicts.try_into().map_err(|_| Error::<T>::TooManyVerdicts)?;
			let count = SubmissionCount::<T>::get(key);
			let mut updated = Vec::with_capacity(verdicts.len());
			let mut next = verdicts.iter().peekable();
			for index in 0..count {
				let Some(mut sub) = Submissions::<T>::get(key, index) else { continue };
				if sub.status != SubmissionStatus::Revealed {
					continue;
				}
				let v = next.next().ok_or(Error::<T>::IncompleteVote)?;
				ensure!(v.submission == index, Error::<T>::IncompleteVote);
				ensure!(v.score <= MAX_SCORE, Error::<T>::InvalidScore);
				if v.accept {
					sub.accept_stake = sub.accept_stake.saturating_add(bond);
				} else {
					sub.reject_stake = sub.reject_stake.saturating_add(bond);
				}
				updated.push((index, sub));
			}
			ensure!(next.peek().is_none(), Error::<T>::IncompleteVote);
			for (index, sub) in updated {
				Submissions::<T>::insert(key, index, sub);
			}
			let n = verdicts.len() as u32;
			Votes::<T>::insert(key, &who, verdicts);
			task.vote_reveals = task.vote_reveals.saturating_add(1);
			Self::deposit_event(Event::VoteRevealed { task_id, round, validator: who, verdicts: n });
			Self::advance(task_id, &mut task);
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Leave a task (members). A member not engaged in the current round attempt (a
		/// validator outside its electorate, a contributor without a commitment, or any member
		/// during enrolment) leaves at once and gets its bond back. An engaged member is marked
		/// as leaving instead: it is left out of the next electorate and removed, its bond
		/// released (`TaskLeft`), when the round attempt it is engaged in is finalised.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::leave_task())]
		pub fn leave_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
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
				let released = Self::remove_member(task_id, &mut task, &who, &member);
				Self::deposit_event(Event::TaskLeft { task_id, who, released });
			}
			Tasks::<T>::insert(task_id, task);
			Ok(())
		}

		/// Allow (or disallow) `accounts` to join a task with `Admission::AllowList` (creator
		/// only, active tasks; members already joined stay).
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::set_allowed(accounts.len() as u32))]
		pub fn set_allowed(
			origin: OriginFor<T>,
			task_id: TaskId,
			accounts: BoundedVec<T::AccountId, T::MaxAllowListBatch>,
			allowed: bool,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
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
			Self::deposit_event(Event::AllowListUpdated {
				task_id,
				allowed,
				count: accounts.len() as u32,
			});
			Ok(())
		}

		/// Remove up to `limit` keys of an ended task's round data (anyone). When none is left,
		/// the creator's storage deposit is released. The task and its round summaries stay.
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::purge_task(*limit, T::MaxRounds::get()))]
		pub fn purge_task(
			origin: OriginFor<T>,
			task_id: TaskId,
			limit: u32,
		) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
			ensure!(task.status != TaskStatus::Active, Error::<T>::TaskStillActive);
			let (removed, done) = Self::remove_round_data(task_id, task.round, limit);
			if removed > 0 {
				Self::deposit_event(Event::TaskDataRemoved { task_id, removed });
			}
			if done && !task.deposit.is_zero() {
				let released = T::Currency::release(
					&HoldReason::TaskDeposit.into(),
					&task.creator,
					task.deposit,
					Precision::BestEffort,
				)?;
				task.deposit = Zero::zero();
				Tasks::<T>::insert(task_id, task.clone());
				Self::deposit_event(Event::TaskPurged { task_id, released });
			}
			Ok(Some(T::WeightInfo::purge_task(removed, task.round.saturating_add(1))).into())
		}
	}

	/// The consensus of a round's revealed votes and each voter's agreement with it (all
	/// integer arithmetic; the client mirrors it exactly). See [`Pallet::consensus`].
	#[derive(Clone, PartialEq, Eq, RuntimeDebug, Default)]
	pub struct Consensus {
		/// Consensus score of each revealed submission, in submission order: the bond-weighted
		/// lower median score of its evidenced verdicts (0 when none is evidenced).
		pub medians: Vec<u32>,
		/// Consensus probe of each revealed submission, in submission order: the bond-weighted
		/// lower median probe of all revealed verdicts.
		pub probe_medians: Vec<u32>,
		/// Per vote, in input order: evidenced verdicts whose accept/reject matches the outcome.
		pub matches: Vec<u32>,
		/// Per vote, in input order: Q_v = A_v² × C_v, in parts per million.
		pub quality: Vec<u128>,
	}

	impl<T: Config> Pallet<T> {
		/// The escrow account of a task.
		pub fn escrow_account(task_id: TaskId) -> T::AccountId {
			T::PalletId::get().into_sub_account_truncating(task_id)
		}

		/// `blake2_256(SCALE(task_id, round, attempt, who, update_hash, num_examples, salt))`.
		pub fn update_commitment(
			task_id: TaskId,
			round: RoundIndex,
			attempt: u32,
			who: &T::AccountId,
			update_hash: &H256,
			num_examples: u64,
			salt: &[u8; 32],
		) -> H256 {
			H256((task_id, round, attempt, who, update_hash, num_examples, salt)
				.using_encoded(sp_io::hashing::blake2_256))
		}

		/// `blake2_256(SCALE(task_id, round, attempt, who, verdicts, salt))` (the verdicts
		/// encode as a `Vec<Verdict>`: compact length, then each verdict).
		pub fn vote_commitment(
			task_id: TaskId,
			round: RoundIndex,
			attempt: u32,
			who: &T::AccountId,
			verdicts: &[Verdict],
			salt: &[u8; 32],
		) -> H256 {
			H256((task_id, round, attempt, who, verdicts, salt)
				.using_encoded(sp_io::hashing::blake2_256))
		}

		/// Stake an update's accept verdicts, or an aggregate's attestations, need:
		/// `quorum.mul_ceil(electorate_stake)`.
		pub fn stake_threshold(task: &TaskInfoOf<T>) -> BalanceOf<T> {
			task.spec.quorum.mul_ceil(task.electorate_stake)
		}

		/// Bond-weighted lower median of `(value, bond)` pairs: sort by value, then the first
		/// value at which twice the cumulative bond reaches the total bond; 0 when empty.
		pub fn lower_median(mut values: Vec<(u32, u128)>) -> u32 {
			values.sort_by_key(|(value, _)| *value);
			let total: u128 = values.iter().map(|(_, b)| *b).fold(0, u128::saturating_add);
			let mut cumulative = 0u128;
			for (value, bond) in values {
				cumulative = cumulative.saturating_add(bond);
				if cumulative.saturating_mul(2) >= total {
					return value;
				}
			}
			0
		}

		/// Whether a verdict's `probe` is evidence of evaluation against the consensus probe
		/// `median`: `|probe − median| <= max(probe_floor, probe_tolerance.mul_floor(median))`.
		pub fn evidenced(probe: u32, median: u32, probe_tolerance: Permill, probe_floor: u32) -> bool {
			probe.abs_diff(median) <= probe_floor.max(probe_tolerance.mul_floor(median))
		}

		/// The consensus of `votes` (bond, verdicts covering the `n = accepted.len()` revealed
		/// submissions in order) given the accept outcome of each submission. Per submission `i`:
		///
		/// - the consensus probe `p_i` is the bond-weighted lower median of all votes' probes;
		/// - verdict `(v, i)` is **evidenced** when `|probe_vi − p_i| <= max(probe_floor,
		///   probe_tolerance.mul_floor(p_i))`;
		/// - the consensus score `m_i` is the bond-weighted lower median of the scores of the
		///   evidenced verdicts only (0 when none is), so unevidenced scores cannot set it.
		///
		/// Per vote: `matches_v` counts the evidenced verdicts whose accept/reject equals the
		/// outcome; the deviation sums `min(|score_vi − m_i|, tolerance)` over evidenced verdicts
		/// and `tolerance` (the most) over unevidenced ones; `A_v = matches_v × 1e6 / n`,
		/// `C_v = 1e6 − deviation × 1e6 / (n × tolerance)` and `Q_v = (A_v² / 1e6) × C_v / 1e6`.
		/// A verdict whose probe is off the consensus probe thus counts as a losing verdict: it
		/// earns nothing and costs bond (finalisation slashes `VerdictSlash × (n − matches_v) / n`).
		pub fn consensus(
			accepted: &[bool],
			votes: &[(u128, &[Verdict])],
			tolerance: u32,
			probe_tolerance: Permill,
			probe_floor: u32,
		) -> Consensus {
			let n = accepted.len();
			let tolerance = tolerance.max(1);
			let mut probe_medians = Vec::with_capacity(n);
			let mut medians = Vec::with_capacity(n);
			for i in 0..n {
				let probes: Vec<(u32, u128)> = votes
					.iter()
					.filter_map(|(bond, v)| v.get(i).map(|v| (v.probe, *bond)))
					.collect();
				let probe_median = Self::lower_median(probes);
				let scores: Vec<(u32, u128)> = votes
					.iter()
					.filter_map(|(bond, v)| v.get(i).map(|v| (v, *bond)))
					.filter(|(v, _)| Self::evidenced(v.probe, probe_median, probe_tolerance, probe_floor))
					.map(|(v, bond)| (v.score, bond))
					.collect();
				probe_medians.push(probe_median);
				medians.push(Self::lower_median(scores));
			}
			let (mut matches, mut quality) = (Vec::new(), Vec::new());
			for (_, verdicts) in votes {
				let mut m = 0u32;
				let mut deviation = 0u128;
				for (i, v) in verdicts.iter().take(n).enumerate() {
					if Self::evidenced(v.probe, probe_medians[i], probe_tolerance, probe_floor) {
						if v.accept == accepted[i] {
							m += 1;
						}
						deviation += v.score.abs_diff(medians[i]).min(tolerance) as u128;
					} else {
						deviation += tolerance as u128;
					}
				}
				let q = if n == 0 {
					0
				} else {
					let n = n as u128;
					let a = m as u128 * PPM / n;
					let c = PPM.saturating_sub(deviation * PPM / (n * tolerance as u128));
					(a * a / PPM) * c / PPM
				};
				matches.push(m);
				quality.push(q);
			}
			Consensus { medians, probe_medians, matches, quality }
		}

		pub(crate) fn now() -> u32 {
			frame_system::Pallet::<T>::block_number().saturated_into()
		}

		fn can_hold(who: &T::AccountId, amount: BalanceOf<T>) -> bool {
			T::Currency::reducible_balance(who, Preservation::Preserve, Fortitude::Polite) >= amount
		}

		fn check_spec(spec: &TaskSpecOf<T>) -> DispatchResult {
			ensure!(spec.reward_per_round >= T::MinRewardPerRound::get(), Error::<T>::RewardTooLow);
			ensure!(
				spec.reward_per_round >= T::Currency::minimum_balance(),
				Error::<T>::RewardTooLow
			);
			ensure!(spec.max_retries <= T::MaxRetries::get(), Error::<T>::RetriesTooHigh);
			ensure!(
				spec.max_idle_rounds <= T::MaxIdleRounds::get(),
				Error::<T>::IdleRoundsTooHigh
			);
			ensure!(
				spec.contributor_bond >= T::MinContributorBond::get() &&
					spec.validator_bond >= T::MinValidatorBond::get() &&
					!spec.contributor_bond.is_zero() &&
					!spec.validator_bond.is_zero(),
				Error::<T>::BondTooLow
			);
			let max_phase = T::MaxPhaseBlocks::get();
			let phases_ok = [
				spec.enrol_blocks,
				spec.commit_blocks,
				spec.reveal_blocks,
				spec.vote_blocks,
				spec.vote_reveal_blocks,
				spec.attest_blocks,
			]
			.iter()
			.all(|b| *b >= 1 && *b <= max_phase);
			Self::check_server_optimizer(&spec.server_optimizer)?;
			ensure!(
				spec.example_weighting != ExampleWeighting::Claimed ||
					spec.admission != Admission::Open,
				Error::<T>::ClaimedWeightingNeedsClosedAdmission
			);
			let rule_ok = match spec.rule {
				AggregationRule::FedAvg | AggregationRule::Median => true,
				AggregationRule::TrimmedMean { beta } => beta < Permill::from_percent(50),
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
					spec.max_validators >= 1 &&
					spec.max_validators <= T::MaxValidators::get() &&
					spec.min_validators >= 1 &&
					spec.min_validators <= spec.max_validators &&
					spec.max_examples >= 1 &&
					spec.min_improvement <= MAX_SCORE &&
					phases_ok && rule_ok,
				Error::<T>::InvalidSpec
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

		fn active_task(task_id: TaskId) -> Result<TaskInfoOf<T>, DispatchError> {
			let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
			ensure!(task.status == TaskStatus::Active, Error::<T>::TaskNotActive);
			Self::advance(task_id, &mut task);
			Ok(task)
		}

		fn ensure_contributor(
			task_id: TaskId,
			who: &T::AccountId,
		) -> Result<MemberInfo<BalanceOf<T>>, DispatchError> {
			let member = Members::<T>::get(task_id, who).ok_or(Error::<T>::NotMember)?;
			ensure!(member.role == Role::Contributor, Error::<T>::NotContributor);
			Ok(member)
		}

		/// The bond `who` has in the electorate of the round attempt `key`, if it is in it.
		pub fn electorate_bond(key: (TaskId, RoundIndex), who: &T::AccountId) -> Option<BalanceOf<T>> {
			Electorate::<T>::get(key).into_iter().find(|(v, _)| v == who).map(|(_, b)| b)
		}

		/// Open an attempt of the current round: fix the electorate (joined validators eligible
		/// for this round, not leaving and holding at least half the task's validator bond, each
		/// weighted by the bond it joined with) and enter `Commit`; when the electorate or the eligible
		/// contributors are too few, (re-)enter `Enrol` instead. Returns whether `Commit` opened.
		fn open_attempt(task_id: TaskId, task: &mut TaskInfoOf<T>, now: u32) -> bool {
			let key = (task_id, task.round);
			let mut electorate: ElectorateOf<T> = BoundedVec::new();
			let mut stake: BalanceOf<T> = Zero::zero();
			for who in TaskValidators::<T>::get(task_id) {
				if let Some(m) = Members::<T>::get(task_id, &who) {
					let depleted = Self::depleted(&task.spec, &m);
					if m.from_round <= task.round &&
						!m.leaving && !depleted &&
						electorate.try_push((who, m.joined_bond)).is_ok()
					{
						stake = stake.saturating_add(m.joined_bond);
					}
				}
			}
			task.revealed = 0;
			task.vote_commits = 0;
			task.vote_reveals = 0;
			task.attesters = 0;
			task.adopted = None;
			let contributors = task.num_contributors.saturating_sub(task.pending_contributors);
			let size = electorate.len() as u32;
			let viable = size >= task.spec.min_validators &&
				!stake.is_zero() &&
				contributors >= task.spec.min_contributors;
			let (phase, ends_at) = if viable {
				Electorate::<T>::insert(key, electorate);
				task.electorate_stake = stake;
				task.electorate_size = size;
				Self::deposit_event(Event::ElectorateFixed { task_id, round: task.round, size, stake });
				(Phase::Commit, now.saturating_add(task.spec.commit_blocks))
			} else {
				Electorate::<T>::remove(key);
				task.electorate_stake = Zero::zero();
				task.electorate_size = 0;
				if task.phase == Phase::Enrol {
					return false
				}
				(Phase::Enrol, now.saturating_add(task.spec.enrol_blocks))
			};
			task.phase = phase;
			task.phase_ends_at = ends_at;
			Self::deposit_event(Event::PhaseChanged { task_id, round: task.round, phase, ends_at });
			viable
		}

		/// Close phases whose deadline passed or whose expected participants all acted.
		///
		/// A phase closed by its deadline hands over at the deadline block (so the schedule does
		/// not depend on when someone calls); a phase closed early hands over now. Enrolment
		/// ends once its time is up and enough eligible members joined (or every seat is taken).
		/// A round attempt that can no longer succeed (no commitment, too few reveals, no vote)
		/// jumps to an already expired `Aggregate` phase, where `finalize_round` fails it at once.
		pub(crate) fn advance(task_id: TaskId, task: &mut TaskInfoOf<T>) {
			let now = Self::now();
			loop {
				let expired = now >= task.phase_ends_at;
				let start = if expired { task.phase_ends_at } else { now };
				let spec = &task.spec;
				let (next, len, viable) = match task.phase {
					Phase::Enrol => {
						let seats_full = task.num_contributors >= spec.max_contributors &&
							task.num_validators >= spec.max_validators;
						let ready = expired &&
							task.num_validators.saturating_sub(task.pending_validators) >=
								spec.min_validators &&
							task.num_contributors.saturating_sub(task.pending_contributors) >=
								spec.min_contributors;
						if !(seats_full || ready) || !Self::open_attempt(task_id, task, now) {
							break;
						}
						continue;
					},
					Phase::Commit => {
						let committed = SubmissionCount::<T>::get((task_id, task.round));
						let eligible =
							task.num_contributors.saturating_sub(task.pending_contributors);
						let all_in = committed >= eligible && committed >= spec.min_contributors;
						if !(expired || all_in) {
							break;
						}
						(Phase::Reveal, spec.reveal_blocks, committed >= 1)
					},
					Phase::Reveal => {
						let committed = SubmissionCount::<T>::get((task_id, task.round));
						if !(expired || task.revealed >= committed) {
							break;
						}
						(Phase::VoteCommit, spec.vote_blocks, task.revealed >= spec.min_contributors)
					},
					Phase::VoteCommit => {
						if !(expired || task.vote_commits >= task.electorate_size) {
							break;
						}
						(Phase::VoteReveal, spec.vote_reveal_blocks, task.vote_commits >= 1)
					},
					Phase::VoteReveal => {
						if !(expired || task.vote_reveals >= task.vote_commits) {
							break;
						}
						(Phase::Aggregate, spec.attest_blocks, task.vote_reveals >= spec.min_validators)
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

		/// Whether slashes left a member's bond below half the task's bond for its role.
		fn depleted(spec: &TaskSpecOf<T>, m: &MemberInfo<BalanceOf<T>>) -> bool {
			let min = match m.role {
				Role::Contributor => spec.contributor_bond,
				Role::Validator => spec.validator_bond,
			};
			m.bond.saturating_add(m.bond) < min
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

		/// Move up to `amount` of a member's bond into the task's escrow; returns what moved.
		fn slash(
			task_id: TaskId,
			round: RoundIndex,
			who: &T::AccountId,
			amount: BalanceOf<T>,
			reason: SlashReason,
		) -> BalanceOf<T> {
			let Some(mut member) = Members::<T>::get(task_id, who) else { return Zero::zero() };
			let amount = amount.min(member.bond);
			if amount.is_zero() {
				return amount;
			}
			let Ok(slashed) = T::Currency::transfer_on_hold(
				&HoldReason::TaskBond.into(),
				who,
				&Self::escrow_account(task_id),
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			) else {
				return Zero::zero();
			};
			member.bond = member.bond.saturating_sub(slashed);
			Members::<T>::insert(task_id, who, member);
			Self::deposit_event(Event::Slashed { task_id, round, who: who.clone(), reason, amount: slashed });
			slashed
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

		/// Release one member's bond and drop its membership; returns the released bond.
		fn remove_member(
			task_id: TaskId,
			task: &mut TaskInfoOf<T>,
			who: &T::AccountId,
			member: &MemberInfo<BalanceOf<T>>,
		) -> BalanceOf<T> {
			let released = T::Currency::release(
				&HoldReason::TaskBond.into(),
				who,
				member.bond,
				Precision::BestEffort,
			)
			.unwrap_or_default();
			Members::<T>::remove(task_id, who);
			let pending = (member.from_round > task.round) as u32;
			match member.role {
				Role::Contributor => {
					task.num_contributors = task.num_contributors.saturating_sub(1);
					task.pending_contributors = task.pending_contributors.saturating_sub(pending);
				},
				Role::Validator => {
					task.num_validators = task.num_validators.saturating_sub(1);
					task.pending_validators = task.pending_validators.saturating_sub(pending);
					TaskValidators::<T>::mutate(task_id, |vs| vs.retain(|v| v != who));
				},
			}
			Self::release_count(who, member.role);
			released
		}

		fn release_count(who: &T::AccountId, role: Role) {
			Participants::<T>::mutate(who, |info| {
				if let Some(info) = info {
					match role {
						Role::Contributor =>
							info.contributor_tasks = info.contributor_tasks.saturating_sub(1),
						Role::Validator =>
							info.validator_tasks = info.validator_tasks.saturating_sub(1),
					}
				}
			});
		}

		/// End a task: refund the escrow, release every bond, record the status and emit
		/// `TaskFinished` or `TaskCancelled`. Returns how many members were released.
		fn end_task(
			task_id: TaskId,
			task: &mut TaskInfoOf<T>,
			status: TaskStatus,
		) -> Result<u32, DispatchError> {
			let refunded = Self::refund_escrow(task_id, &task.creator)?;
			let mut members = 0u32;
			for (who, member) in Members::<T>::drain_prefix(task_id) {
				members += 1;
				let _ = T::Currency::release(
					&HoldReason::TaskBond.into(),
					&who,
					member.bond,
					Precision::BestEffort,
				);
				Self::release_count(&who, member.role);
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
		fn remove_round_data(task_id: TaskId, last_round: RoundIndex, limit: u32) -> (u32, bool) {
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

		/// Clear the data of a failed round attempt (update hashes stay: a hash is used once).
		fn clear_attempt(key: (TaskId, RoundIndex)) {
			let (contributors, validators) = (T::MaxContributors::get(), T::MaxValidators::get());
			let _ = Submissions::<T>::clear_prefix(key, contributors, None);
			let _ = CommitmentOf::<T>::clear_prefix(key, contributors, None);
			let _ = VoteCommits::<T>::clear_prefix(key, validators, None);
			let _ = Votes::<T>::clear_prefix(key, validators, None);
			let _ = Attestations::<T>::clear_prefix(key, validators, None);
			SubmissionCount::<T>::remove(key);
			Proposals::<T>::remove(key);
		}

		/// The end of a round attempt for each member of the task (`committers`: the contributors
		/// with a commitment in the attempt; `ballots`: the electorate's (validator, weight, bond,
		/// vote)). A member eligible for the round acted when it committed (contributor) or
		/// revealed a vote (electorate validator; only counted when the attempt reached the
		/// vote, `vote_expected`): acting resets `idle_rounds`; not acting raises it, costs a
		/// contributor 1 reputation (a silent validator already loses it) and emits `MemberIdle`;
		/// at the task's `max_idle_rounds` the member loses its seat and `IdleSlash` of its bond.
		/// Members marked leaving are removed (`TaskLeft`), and so are members whose bond fell
		/// below half the task's bond for their role (`SeatLost { BondDepleted }`). Returns the
		/// members visited and the amount slashed.
		#[allow(clippy::type_complexity)]
		fn end_attempt_for_members(
			task_id: TaskId,
			task: &mut TaskInfoOf<T>,
			committers: &[T::AccountId],
			ballots: &[(
				T::AccountId,
				BalanceOf<T>,
				BalanceOf<T>,
				Option<BoundedVec<Verdict, T::MaxVerdicts>>,
			)],
			vote_expected: bool,
		) -> (u32, BalanceOf<T>) {
			let round = task.round;
			let max_idle = task.spec.max_idle_rounds;
			let mut slashed: BalanceOf<T> = Zero::zero();
			let members: Vec<(T::AccountId, MemberInfo<BalanceOf<T>>)> =
				Members::<T>::iter_prefix(task_id).collect();
			let touched = members.len() as u32;
			for (who, mut member) in members {
				if member.from_round > round {
					continue;
				}
				let acted = match member.role {
					Role::Contributor => Some(committers.contains(&who)),
					Role::Validator => ballots
						.iter()
						.find(|(v, ..)| *v == who)
						.and_then(|(_, _, _, vote)| {
							if vote.is_some() {
								Some(true)
							} else if vote_expected {
								Some(false)
							} else {
								None
							}
						}),
				};
				let mut lost = None;
				match acted {
					Some(true) => member.idle_rounds = 0,
					Some(false) => {
						member.idle_rounds = member.idle_rounds.saturating_add(1);
						if member.role == Role::Contributor {
							Self::adjust_reputation(&who, false);
						}
						Self::deposit_event(Event::MemberIdle {
							task_id,
							round,
							who: who.clone(),
							idle_rounds: member.idle_rounds,
						});
						if max_idle > 0 && member.idle_rounds >= max_idle {
							lost = Some(SeatLoss::Idle);
						}
					},
					None => {},
				}
				Members::<T>::insert(task_id, &who, member);
				if lost == Some(SeatLoss::Idle) {
					let bond = Members::<T>::get(task_id, &who).map(|m| m.bond).unwrap_or_default();
					let amount = T::IdleSlash::get().mul_floor(bond);
					slashed = slashed
						.saturating_add(Self::slash(task_id, round, &who, amount, SlashReason::Idle));
				}
				let Some(member) = Members::<T>::get(task_id, &who) else { continue };
				if lost.is_none() && Self::depleted(&task.spec, &member) {
					lost = Some(SeatLoss::BondDepleted);
				}
				if let Some(reason) = lost {
					let released = Self::remove_member(task_id, task, &who, &member);
					Self::deposit_event(Event::SeatLost { task_id, round, who, reason, released });
				} else if member.leaving {
					let released = Self::remove_member(task_id, task, &who, &member);
					Self::deposit_event(Event::TaskLeft { task_id, who, released });
				}
			}
			(touched, slashed)
		}

		fn do_finalize(task_id: TaskId, task: &mut TaskInfoOf<T>) -> DispatchResultWithPostInfo {
			let round = task.round;
			let key = (task_id, round);
			let now = Self::now();
			let count = SubmissionCount::<T>::get(key);
			let mut subs: Vec<(SubmissionIndex, SubmissionOf<T>)> = Vec::with_capacity(count as usize);
			for i in 0..count {
				if let Some(s) = Submissions::<T>::get(key, i) {
					subs.push((i, s));
				}
			}
			let threshold = Self::stake_threshold(task);
			// Revealed submissions in order, and whether the electorate's stake accepted each.
			let revealed: Vec<usize> = subs
				.iter()
				.enumerate()
				.filter(|(_, (_, s))| s.status == SubmissionStatus::Revealed)
				.map(|(p, _)| p)
				.collect();
			let accepted: Vec<bool> = revealed
				.iter()
				.map(|p| {
					let s = &subs[*p].1;
					!s.accept_stake.is_zero() && s.accept_stake >= threshold
				})
				.collect();
			let n_accepted = accepted.iter().filter(|a| **a).count() as u32;
			let enough = task.vote_reveals >= task.spec.min_validators &&
				n_accepted >= task.spec.min_contributors;
			let proposals = Proposals::<T>::get(key);
			let n_proposals = proposals.len() as u32;
			let adopted = task.adopted.and_then(|i| proposals.get(i as usize).cloned());
			let success = adopted.is_some() && enough;
			if success {
				ensure!(
					task.attesters >= task.electorate_size || now >= task.phase_ends_at,
					Error::<T>::RoundNotFinished
				);
			} else {
				ensure!(!enough || now >= task.phase_ends_at, Error::<T>::RoundNotFinished);
			}

			// Consensus over the revealed votes of the electorate. A ballot is (validator, voting
			// weight = the bond it joined with, current bond, vote): the voting weight sets the
			// stakes and the medians; the current bond (as the attempt is finalised) sets what a
			// slash takes and what the pay is weighted by.
			let electorate = Electorate::<T>::get(key);
			let n_electorate = electorate.len() as u32;
			#[allow(clippy::type_complexity)]
			let ballots: Vec<(
				T::AccountId,
				BalanceOf<T>,
				BalanceOf<T>,
				Option<BoundedVec<Verdict, T::MaxVerdicts>>,
			)> = electorate
				.into_iter()
				.map(|(v, b)| {
					let vote = Votes::<T>::get(key, &v);
					let current = Members::<T>::get(task_id, &v).map(|m| m.bond).unwrap_or_default();
					(v, b, current, vote)
				})
				.collect();
			let voted: Vec<(u128, &[Verdict])> = ballots
				.iter()
				.filter_map(|(_, b, _, v)| v.as_ref().map(|v| ((*b).saturated_into::<u128>(), &v[..])))
				.collect();
			let consensus = Self::consensus(
				&accepted,
				&voted,
				T::ScoreTolerance::get(),
				T::ProbeTolerance::get(),
				T::ProbeFloor::get(),
			);
			let n = accepted.len() as u128;

			// Slashes, into the escrow. A vote's losing verdicts are those against the consensus
			// and those without evidence (probe off the consensus probe): n − matches.
			let mut slashed: BalanceOf<T> = Zero::zero();
			let vote_expected = task.revealed >= task.spec.min_contributors;
			let verdict_ppm = T::VerdictSlash::get().deconstruct() as u128;
			let mut q_index = 0usize;
			let mut quality: Vec<Option<(u128, u32)>> = Vec::with_capacity(ballots.len());
			for (who, _, bond, vote) in ballots.iter() {
				if vote.is_some() {
					let (m, q) = (consensus.matches[q_index], consensus.quality[q_index]);
					q_index += 1;
					quality.push(Some((q, m)));
					let wrong = n.saturating_sub(m as u128);
					if wrong > 0 {
						let amount = multiply_by_rational_with_rounding(
							(*bond).saturated_into::<u128>(),
							wrong.saturating_mul(verdict_ppm),
							n.saturating_mul(PPM),
							Rounding::Down,
						)
						.unwrap_or(0);
						slashed = slashed.saturating_add(Self::slash(
							task_id,
							round,
							who,
							amount.saturated_into(),
							SlashReason::LosingVerdicts,
						));
					}
				} else {
					quality.push(None);
					if vote_expected {
						let amount = T::SilenceSlash::get().mul_floor(*bond);
						slashed = slashed.saturating_add(Self::slash(
							task_id,
							round,
							who,
							amount,
							SlashReason::Silence,
						));
					}
				}
			}
			if let Some(model) = adopted.as_ref() {
				for (who, _, bond, _) in ballots.iter() {
					let proposed_loser =
						proposals.iter().any(|p| p.hash != model.hash && &p.proposer == who);
					let attested_loser = Attestations::<T>::get(key, who)
						.is_some_and(|(h, _)| h != model.hash);
					if proposed_loser || attested_loser {
						let amount = T::LosingAttestSlash::get().mul_floor(*bond);
						slashed = slashed.saturating_add(Self::slash(
							task_id,
							round,
							who,
							amount,
							SlashReason::LosingAggregate,
						));
					}
				}
			}
			for (_, sub) in subs.iter().filter(|(_, s)| s.status == SubmissionStatus::Committed) {
				if let Some(member) = Members::<T>::get(task_id, &sub.contributor) {
					let amount = T::SilenceSlash::get().mul_floor(member.bond);
					slashed = slashed.saturating_add(Self::slash(
						task_id,
						round,
						&sub.contributor,
						amount,
						SlashReason::Unrevealed,
					));
				}
				Self::adjust_reputation(&sub.contributor, false);
			}
			// The end of the attempt for every member: idle counters, idle seat losses, leaving
			// members and depleted bonds.
			let committers: Vec<T::AccountId> =
				subs.iter().map(|(_, s)| s.contributor.clone()).collect();
			let (touched, idle_slashed) =
				Self::end_attempt_for_members(task_id, task, &committers, &ballots, vote_expected);
			slashed = slashed.saturating_add(idle_slashed);
			task.slashed = task.slashed.saturating_add(slashed);
			task.escrow = task.escrow.saturating_add(slashed);

			match adopted {
				Some(model) if success => {
					let reward = task.spec.reward_per_round;
					let validator_pool = task.spec.validator_share.mul_floor(reward);
					let contributor_pool: u128 = reward.saturating_sub(validator_pool).saturated_into();
					// Contributors of accepted updates, by their consensus score.
					let weights: Vec<u128> = accepted
						.iter()
						.zip(consensus.medians.iter())
						.map(|(a, m)| if *a { *m as u128 } else { 0 })
						.collect();
					let all_zero = weights.iter().all(|w| *w == 0);
					let weights: Vec<u128> = if all_zero {
						accepted.iter().map(|a| *a as u128).collect()
					} else {
						weights
					};
					let total_weight: u128 = weights.iter().sum();
					let mut contributor_rewards: BalanceOf<T> = Zero::zero();
					let (mut rejected, mut void) = (0u32, 0u32);
					let mut j = 0usize;
					for (index, mut sub) in subs.into_iter() {
						if sub.status == SubmissionStatus::Revealed {
							let ok = accepted[j];
							let w = weights[j];
							j += 1;
							Self::adjust_reputation(&sub.contributor, ok);
							if ok {
								sub.status = SubmissionStatus::Accepted;
								let share = multiply_by_rational_with_rounding(
									contributor_pool,
									w,
									total_weight.max(1),
									Rounding::Down,
								)
								.unwrap_or(0);
								let paid =
									Self::pay(task_id, round, &sub.contributor, share.saturated_into())?;
								contributor_rewards = contributor_rewards.saturating_add(paid);
							} else {
								sub.status = SubmissionStatus::Rejected;
								rejected += 1;
							}
						} else {
							sub.status = SubmissionStatus::Void;
							void += 1;
						}
						Submissions::<T>::insert(key, index, sub);
					}
					// Validators that attested the adopted hash, by bond × Q_v.
					let mut paid_weights: Vec<(usize, u128)> = Vec::new();
					for (p, ((who, _, bond, _), q)) in ballots.iter().zip(quality.iter()).enumerate() {
						let attested = Attestations::<T>::get(key, who)
							.is_some_and(|(h, _)| h == model.hash);
						let q_v = q.map(|(q, _)| q).unwrap_or(0);
						Self::adjust_reputation(who, attested && q_v * 2 >= PPM);
						if attested && q_v > 0 {
							paid_weights.push((p, (*bond).saturated_into::<u128>().saturating_mul(q_v)));
						}
					}
					let total_w: u128 = paid_weights.iter().map(|(_, w)| *w).fold(0, u128::saturating_add);
					let pool: u128 = validator_pool.saturated_into();
					let mut validator_rewards: BalanceOf<T> = Zero::zero();
					for (p, w) in paid_weights {
						let share = multiply_by_rational_with_rounding(pool, w, total_w.max(1), Rounding::Down)
							.unwrap_or(0);
						let paid = Self::pay(task_id, round, &ballots[p].0, share.saturated_into())?;
						validator_rewards = validator_rewards.saturating_add(paid);
					}
					let paid = contributor_rewards.saturating_add(validator_rewards);
					task.escrow = task.escrow.saturating_sub(paid);
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
							slashed,
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
						slashed,
					});
				},
				_ => {
					for (who, _, _, vote) in ballots.iter() {
						if vote.is_none() && vote_expected {
							Self::adjust_reputation(who, false);
						}
					}
					Self::clear_attempt(key);
					task.retries = task.retries.saturating_add(1);
					Self::deposit_event(Event::RoundFailed { task_id, round, retries: task.retries });
				},
			}

			let mut members_released = 0u32;
			if task.cancel_requested {
				members_released = Self::end_task(task_id, task, TaskStatus::Cancelled)?;
			} else if success && round.saturating_add(1) >= task.spec.rounds {
				members_released = Self::end_task(task_id, task, TaskStatus::Finished)?;
			} else if !success && task.retries > task.spec.max_retries {
				members_released = Self::end_task(task_id, task, TaskStatus::Finished)?;
			} else {
				if success {
					task.round = round.saturating_add(1);
					task.retries = 0;
					task.pending_contributors = 0;
					task.pending_validators = 0;
				}
				Self::open_attempt(task_id, task, now);
			}
			Tasks::<T>::insert(task_id, task.clone());
			Ok(PostDispatchInfo {
				actual_weight: Some(T::WeightInfo::finalize_round(
					count,
					n_electorate,
					n_proposals,
					members_released.saturating_add(touched),
				)),
				pays_fee: Pays::Yes,
			})
		}
	}
}
