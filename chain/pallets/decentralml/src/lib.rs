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
//! Phase transitions happen lazily at the start (and end) of every call on a task. The one
//! block hook, `on_idle`, finalises a round in the block in which its whole electorate has
//! attested the adopted model (`try_state` checks the invariants). A task may draw a **cohort**
//! of contributors per round and a **committee** of validators per update ([`sampling`],
//! `docs/committees.md`). `docs/chain.md` describes
//! the rules for users.
//!
//! ## Where things are
//!
//! - `lib.rs` (this file): the declarations — config, storage, events, errors, hooks, and the
//!   calls, each delegating to the module of its topic;
//! - [`types`]: the stored records; [`task`]: their behaviour, and a task's life outside the
//!   round (create, join, leave, allow-list, cancel, end, purge); [`registry`]: participants;
//! - [`phases`]: the phase machine and what each phase accepts (commit, reveal, vote, propose,
//!   attest); [`consensus`]: the pure consensus rule; [`settlement`]: the pure `settle`, which
//!   decides the end of a round attempt, and the one step that applies it; [`funds`]: holds,
//!   escrow, payments and slashes; `invariants.rs`: `do_try_state`;
//! - [`weights`], `benchmarking.rs`, and the tests (`tests/`, by topic, with the shared
//!   vectors of `vectors/`).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod consensus;
pub mod funds;
#[cfg(any(feature = "try-runtime", test))]
pub mod invariants;
pub mod phases;
pub mod registry;
pub mod sampling;
pub mod settlement;
pub mod task;
pub mod types;
pub mod weights;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;

pub use consensus::{Consensus, PPM};
pub use settlement::{RoundRecords, Settlement};
pub use types::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		dispatch::{DispatchResult, DispatchResultWithPostInfo},
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use sp_arithmetic::Permill;

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

	/// The storage version: 2 added `MemberInfo.joined_bond` and `idle_rounds` and
	/// `TaskSpec.max_idle_rounds`; 3 added cohorts and committees (`TaskSpec.cohort`,
	/// `committee`, `audit`; the seeds and the cut in `TaskInfo`). No migration: chains of an
	/// earlier version start again from genesis.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(3);

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

	/// Round attempts whose whole electorate attested an adopted model: finalised in the idle
	/// time of the block in which the last attestation landed (`on_idle`), or by the next
	/// `finalize_round` when that block had no weight left. An entry whose round was finalised
	/// otherwise is dropped there.
	#[pallet::storage]
	pub type ReadyToFinalize<T> =
		StorageValue<_, BoundedVec<(TaskId, RoundIndex), ConstU32<MAX_READY>>, ValueQuery>;

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
		/// The attempt's cohort was drawn with `seed`: the `size` eligible contributors whose
		/// ticket is at most `cut` train this attempt (`docs/committees.md`).
		CohortDrawn { task_id: TaskId, round: RoundIndex, size: u32, cut: u64, seed: H256 },
		/// The vote opened: each revealed update's judges are drawn with `seed`.
		CommitteesDrawn { task_id: TaskId, round: RoundIndex, seed: H256 },
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
		/// The account is not in this round attempt's cohort: it sits the round out (see the
		/// task's `draw_seed` and `cohort_cut`), at no cost, and may be drawn next round.
		NotInCohort,
		/// The vote judges a submission whose committee does not include the voter: vote on the
		/// submissions whose judges, drawn from the task's `committee_seed`, include you.
		NotInCommittee,
		/// A task of more than 8 192 `max_contributors × max_validators` must set a committee:
		/// every validator judging every update would not fit in the blocks of a round.
		CommitteeRequired,
		/// The committee must be at most 5 validators, and the audit fraction at most 50 % (and
		/// 0 without a committee).
		InvalidCommittee,
		/// This hash was already proposed in this round.
		DuplicateProposal,
		/// The account already proposed an aggregate in this round.
		AlreadyProposed,
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

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Finalise the rounds that became final in this block ([`ReadyToFinalize`]), as far as
		/// the block's remaining weight allows, so a round ends in the block of its last
		/// attestation rather than one block later.
		fn on_idle(_n: BlockNumberFor<T>, remaining: Weight) -> Weight {
			// Keep the block within the weight of its normal class, like any transaction.
			let normal = <T as frame_system::Config>::BlockWeights::get()
				.get(DispatchClass::Normal)
				.max_total
				.unwrap_or(Weight::MAX);
			let used = frame_system::Pallet::<T>::block_weight().total();
			Self::finalize_ready(remaining.min(normal.saturating_sub(used)))
		}

		/// The storage invariants ([`Pallet::do_try_state`]).
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
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
			Self::do_register(who, role, stake, x25519_key)
		}

		/// Leave `role` and release its stake. Refused while the account is a member of an
		/// active task in that role. The reputation is kept.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>, role: Role) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deregister(who, role)
		}

		/// Create a task: `spec.rounds × spec.reward_per_round` (plus the existential deposit
		/// that keeps the escrow account alive, refunded at the end) moves to the task's escrow
		/// account, `TaskDeposit` is held until `purge_task`, and the task opens for enrolment.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::create_task())]
		pub fn create_task(origin: OriginFor<T>, spec: TaskSpecOf<T>) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			Self::do_create_task(creator, spec)
		}

		/// Join an active task in `role`, bonding `bond` (at least the task's bond for the role).
		/// The account must be registered for the role, not be the creator, not hold another
		/// role in the task, and pass the task's admission; joiners after enrolment take part
		/// from the next round.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::join_task(weights::accesses::OPEN_ATTEMPT_MEMBERS))]
		pub fn join_task(
			origin: OriginFor<T>,
			task_id: TaskId,
			role: Role,
			bond: BalanceOf<T>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let enrolling = |id| Tasks::<T>::get(id).is_some_and(|t| t.phase == Phase::Enrol);
			let was_enrolling = enrolling(task_id);
			Self::do_join_task(who, task_id, role, bond)?;
			// Charged for opening the round attempt only when this call opened it.
			let opened = was_enrolling && !enrolling(task_id);
			let m = if opened { weights::accesses::OPEN_ATTEMPT_MEMBERS } else { 0 };
			Ok(Some(T::WeightInfo::join_task(m)).into())
		}

		/// Cancel an active task (creator only). During enrolment, or before the first commitment
		/// of a round, the task ends at once: the escrow goes back to the creator and all bonds
		/// are released. Otherwise the cancellation waits for the current round: the round is
		/// finalised as usual (its accepted work paid if it succeeds) and then the task ends.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::cancel_task(T::MaxContributors::get() + T::MaxValidators::get()))]
		pub fn cancel_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_cancel_task(who, task_id)
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
			Self::do_commit_update(who, task_id, round, commitment)
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
			Self::do_reveal_update(who, task_id, round, cid, update_hash, num_examples, salt)
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
			Self::do_commit_vote(who, task_id, round, commitment)
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
			Self::do_propose_aggregate(who, task_id, round, cid, hash)
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
			Self::do_attest_aggregate(who, task_id, round, cid, hash, score)
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
			Self::do_finalize_round(task_id, round)
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
			Self::do_reveal_vote(who, task_id, round, verdicts, salt)
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
			Self::do_leave_task(who, task_id)
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
			Self::do_set_allowed(who, task_id, accounts, allowed)
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
			Self::do_purge_task(task_id, limit)
		}
	}
}
