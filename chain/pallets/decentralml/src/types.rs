//! The pallet's data types: what a task asks for, what a round records, what a participant is.
//!
//! Every type here is bounded (`MaxEncodedLen`) so that all storage of the pallet is bounded.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{traits::ConstU32, BoundedVec};
use sp_runtime::RuntimeDebug;
use scale_info::TypeInfo;
use sp_arithmetic::{Perbill, Permill};
pub use sp_core::H256;

/// Identifies a task; tasks are numbered from 0 in creation order.
pub type TaskId = u32;
/// Index of a round inside a task, from 0. A failed round is retried under the same index.
pub type RoundIndex = u32;
/// Index of a submission (a committed update) inside one round, from 0 in commit order.
pub type SubmissionIndex = u32;

/// Most round attempts waiting to be finalised in a block's idle time
/// ([`crate::ReadyToFinalize`]); beyond it, `finalize_round` finalises them.
pub const MAX_READY: u32 = 64;

/// Most validators a committee may have ([`TaskSpec::committee`]).
pub const MAX_COMMITTEE: u32 = 5;
/// An audited update's committee is this many times the task's committee.
pub const AUDIT_FACTOR: u32 = 3;
/// Largest `max_contributors × max_validators` of a task without committees: every electorate
/// member judges every update, so a round carries that many verdicts.
pub const FULL_JUDGING_BUDGET: u32 = 8_192;
/// Largest audit fraction a task may set, in parts per million (50 %).
pub const MAX_AUDIT_PPM: u32 = 500_000;

/// Longest content identifier (IPFS CID, as UTF-8 bytes) the pallet stores.
pub const MAX_CID_LEN: u32 = 128;
/// A content identifier (an IPFS CID as UTF-8 bytes), at most [`MAX_CID_LEN`] bytes.
pub type Cid = BoundedVec<u8, ConstU32<MAX_CID_LEN>>;

/// Largest metric a validator may report: 10 000 basis points = 100 %.
pub const MAX_SCORE: u32 = 10_000;
/// Reputation of a newly registered account.
pub const INITIAL_REPUTATION: u32 = 500;
/// Highest reputation an account can reach.
pub const MAX_REPUTATION: u32 = 1_000;

/// What a participant does in a task.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum Role {
	/// Trains the model on private data and submits updates.
	Contributor,
	/// Evaluates updates on held-out data, votes, and attests aggregates.
	Validator,
}

/// How the accepted updates of a round are combined into the next global model (done off chain;
/// the pallet only records the rule so that every party computes the same bytes).
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum AggregationRule {
	/// Weighted mean by (capped) number of examples.
	FedAvg,
	/// Coordinate-wise mean after dropping the `beta` fraction of lowest and highest values.
	TrimmedMean {
		/// Fraction trimmed at each end; must be below 50 %.
		beta: Permill,
	},
	/// Coordinate-wise median.
	Median,
	/// Multi-Krum: keep the `keep` updates closest to their neighbours assuming `byzantine`
	/// attackers, then average them.
	MultiKrum {
		/// Number of byzantine updates the rule tolerates.
		byzantine: u32,
		/// Number of updates averaged.
		keep: u32,
	},
}

/// Server learning rate unit: a `lr` of `LR_UNIT` means 1.0 (the rate is in millionths).
pub const LR_UNIT: u32 = 1_000_000;
/// Largest server learning rate a task may set: 100.0.
pub const MAX_SERVER_LR: u32 = 100 * LR_UNIT;

/// How the aggregate of the accepted updates moves the global model (done off chain, in float64
/// with a fixed operation order, so every validator recomputes the same bytes). The optimiser's
/// state (momentum, moment estimates, step) travels inside each round's global weights file.
/// Any [`AggregationRule`] composes with any optimiser: the rule combines the updates into one
/// delta `Δ`, the optimiser applies it with the pseudo-gradient `g = −Δ`.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum ServerOptimizer {
	/// The next model is the current one plus the aggregate delta (plain FedAvg).
	None,
	/// Server momentum (FedAvgM): `m ← momentum·m + g`, `w ← w − lr·m`.
	Momentum {
		/// Server learning rate in millionths (1 000 000 = 1.0), 1 ..= 100 000 000.
		lr: u32,
		/// Momentum factor, below 100 %.
		momentum: Permill,
	},
	/// FedAdam: Adam with bias correction on the pseudo-gradient; `tau` is its ε.
	Adam {
		/// Server learning rate in millionths (1 000 000 = 1.0), 1 ..= 100 000 000.
		lr: u32,
		/// Decay of the first moment, below 100 %.
		beta1: Permill,
		/// Decay of the second moment, below 100 %.
		beta2: Permill,
		/// Adaptivity ε added to the root of the second moment, above zero.
		tau: Perbill,
	},
	/// FedYogi: like Adam, with Yogi's additive second-moment update, started at `tau²`.
	Yogi {
		/// Server learning rate in millionths (1 000 000 = 1.0), 1 ..= 100 000 000.
		lr: u32,
		/// Decay of the first moment, below 100 %.
		beta1: Permill,
		/// Decay of the second moment, below 100 %.
		beta2: Permill,
		/// Adaptivity ε added to the root of the second moment, above zero.
		tau: Perbill,
	},
}

/// How FedAvg weights the accepted updates by the `num_examples` their contributors claimed
/// (done off chain when the aggregate is recomputed; the chain only stores the choice). Claims
/// cannot be verified, so any weighting trusts them to some degree.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum ExampleWeighting {
	/// Each claim is capped at the task's `max_examples` and at the round's lower-median claim
	/// among the accepted updates: an inflated claim weighs no more than a typical one (the
	/// default; departs from plain FedAvg when honest shards differ in size).
	MedianCapped,
	/// Each claim is capped at the task's `max_examples` only: plain FedAvg weighting (McMahan
	/// et al.; TFF's weighted FedAvg). A contributor may weigh up to `max_examples` by claiming
	/// it, so the pallet allows it only for tasks whose admission is not `Open`.
	Claimed,
}

/// Who may join a task, as the task creator chose.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum Admission {
	/// Any registered account may join.
	Open,
	/// Only the accounts the creator put on the task's allow-list (`set_allowed`) may join.
	AllowList,
	/// Only accounts whose reputation is at least this value may join.
	MinReputation(u32),
}

/// Everything a task creator fixes when creating a task.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, RuntimeDebug,
)]
pub struct TaskSpec<Balance> {
	/// CID of the model manifest (the initial global model M_0).
	pub model_cid: Cid,
	/// blake2-256 of the model manifest bytes.
	pub model_hash: H256,
	/// Number of rounds to run (at least 1).
	pub rounds: u32,
	/// Fewest accepted updates a round needs to succeed (at least 1).
	pub min_contributors: u32,
	/// Most contributors that may join the task.
	pub max_contributors: u32,
	/// Most validators that may join the task (at most the runtime's `MaxValidators`).
	pub max_validators: u32,
	/// Fraction of the round's electorate stake whose accept verdicts make an update accepted,
	/// and whose attestations adopt an aggregate.
	pub quorum: Permill,
	/// Fewest validators the electorate of a round needs, and fewest revealed votes for a round
	/// to succeed.
	pub min_validators: u32,
	/// Reward paid out per successful round (escrowed for all rounds at creation).
	pub reward_per_round: Balance,
	/// Share of each round's reward that goes to the validators (by agreement × bond).
	pub validator_share: Permill,
	/// How accepted updates are aggregated.
	pub rule: AggregationRule,
	/// How the aggregate moves the global model (server optimiser and its hyper-parameters).
	pub server_optimizer: ServerOptimizer,
	/// Cap on the `num_examples` a contributor may claim for FedAvg weighting.
	pub max_examples: u64,
	/// How claimed `num_examples` weigh the updates in FedAvg (`Claimed` needs an admission
	/// other than `Open`).
	pub example_weighting: ExampleWeighting,
	/// Smallest improvement (basis points, 0..=10 000) validators require from an update.
	pub min_improvement: u32,
	/// Bond (in plancks) each contributor holds in this task (at least `MinContributorBond`).
	pub contributor_bond: Balance,
	/// Bond (in plancks) each validator holds in this task (at least `MinValidatorBond`); a
	/// validator may bond more, and its influence and pay grow with its bond.
	pub validator_bond: Balance,
	/// Who may join.
	pub admission: Admission,
	/// Length of the enrolment phase, in blocks.
	pub enrol_blocks: u32,
	/// Length of the commit (training) phase, in blocks.
	pub commit_blocks: u32,
	/// Length of the reveal phase, in blocks.
	pub reveal_blocks: u32,
	/// Length of the sealed-vote commit phase, in blocks.
	pub vote_blocks: u32,
	/// Length of the vote reveal phase, in blocks.
	pub vote_reveal_blocks: u32,
	/// Length of the aggregation/attestation phase, in blocks.
	pub attest_blocks: u32,
	/// How many times a failed round is retried before the task ends (at most `MaxRetries`).
	pub max_retries: u32,
	/// Private mode: updates are sealed to the validators' X25519 keys off chain.
	pub private: bool,
	/// Consecutive idle round attempts after which a member loses its seat and `IdleSlash` of
	/// its bond (0 = never; at most `MaxIdleRounds`). A member is idle in an attempt it was
	/// eligible for when it did not act: a contributor that made no commitment, an electorate
	/// validator that revealed no vote although the attempt reached the vote.
	pub max_idle_rounds: u32,
	/// Contributors drawn to train each round attempt (0 = every eligible contributor); see
	/// `docs/committees.md`. At least `min_contributors` when set.
	pub cohort: u32,
	/// Validators of the electorate that judge each update (0 = the whole electorate), drawn
	/// by bond; at most [`MAX_COMMITTEE`]. A task with `max_contributors × max_validators`
	/// above [`FULL_JUDGING_BUDGET`] must set it.
	pub committee: u32,
	/// Fraction of updates judged by an audit committee [`AUDIT_FACTOR`] times as large (at
	/// most 50 %; only with a committee).
	pub audit: Permill,
}

/// One validator's judgement of one submission: its verdict, its score, and the evidence that it
/// evaluated the update this round (`probe`).
///
/// A verdict pays only with evidence: at finalisation, a verdict whose `probe` is off the
/// bond-weighted median probe of the submission (by more than `max(ProbeFloor,
/// ProbeTolerance × median)`) counts as a losing verdict — it earns nothing, counts as the
/// largest score deviation, does not set the consensus score, and costs bond like any losing
/// verdict (`VerdictSlash`). See [`crate::Pallet::consensus`].
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub struct Verdict {
	/// Index of the submission in the round.
	pub submission: SubmissionIndex,
	/// Whether the validator accepts the update.
	pub accept: bool,
	/// The metric the validator measured, in basis points (0..=10 000).
	pub score: u32,
	/// Evidence of evaluation: the validator's measurement of the updated model on the round's
	/// probe batch (a batch every validator generates from a seed fixed by the round's revealed
	/// update hashes), in units of 1e-9; only a validator that fetched and ran the update can
	/// produce it.
	pub probe: u32,
}

/// The phase of the current round.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum Phase {
	/// Participants join; the round opens when enough of them did and the phase's time is up
	/// (or every seat is taken).
	Enrol,
	/// Contributors train and commit to their updates.
	Commit,
	/// Contributors reveal the updates they committed to.
	Reveal,
	/// The round's electorate evaluates the revealed updates and commits to sealed votes.
	VoteCommit,
	/// The validators that committed reveal their votes.
	VoteReveal,
	/// Aggregates are proposed and attested; then the round is finalised.
	Aggregate,
}

/// Lifecycle of a task.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum TaskStatus {
	/// Rounds are running.
	Active,
	/// All rounds ran (or retries ran out); the remaining escrow went back to the creator.
	Finished,
	/// The creator cancelled the task; the remaining escrow went back to the creator.
	Cancelled,
}

/// A registered participant.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, RuntimeDebug,
)]
pub struct ParticipantInfo<Balance> {
	/// X25519 public key that private-mode updates are sealed to.
	pub x25519_key: [u8; 32],
	/// Reputation, 0..=1000, starting at 500.
	pub reputation: u32,
	/// Stake held for the contributor role, if registered as contributor.
	pub contributor_stake: Option<Balance>,
	/// Stake held for the validator role, if registered as validator.
	pub validator_stake: Option<Balance>,
	/// Number of active tasks joined as contributor.
	pub contributor_tasks: u32,
	/// Number of active tasks joined as validator.
	pub validator_tasks: u32,
}

/// An account's membership in one task.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, RuntimeDebug,
)]
pub struct MemberInfo<Balance> {
	/// The one role the account holds in the task.
	pub role: Role,
	/// The bond held for the task (reduced by slashes): what the member can still lose, and
	/// (× its quality) what its pay is weighted by.
	pub bond: Balance,
	/// The bond the member joined with, its commitment: its voting and attesting weight in every
	/// electorate it sits in (slashes do not reduce it). A member whose `bond` falls below half the
	/// task's bond for its role loses its seat when the round is finalised.
	pub joined_bond: Balance,
	/// The first round the account takes part in (joiners after enrolment wait for the next round).
	pub from_round: RoundIndex,
	/// The account asked to leave while engaged in a round attempt: it is left out of the next
	/// electorate and is removed (its bond released) when that attempt is finalised.
	pub leaving: bool,
	/// Consecutive round attempts the member was eligible for and did not act in (reset when it
	/// acts); at the task's `max_idle_rounds` it loses its seat.
	pub idle_rounds: u32,
}

/// Why a member lost its seat in a task at the end of a round attempt.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum SeatLoss {
	/// Slashes left its bond below half the task's bond for its role.
	BondDepleted,
	/// It did not act in `max_idle_rounds` consecutive round attempts it was eligible for.
	Idle,
}

/// Why a bond was slashed.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum SlashReason {
	/// A validator of the round's electorate revealed no vote.
	Silence,
	/// A validator's verdicts disagreed with the consensus, or carried no evidence of this
	/// round's evaluation (a probe off the consensus probe).
	LosingVerdicts,
	/// A validator proposed or attested an aggregate that was not adopted.
	LosingAggregate,
	/// A contributor committed to an update and never revealed it.
	Unrevealed,
	/// A member was idle for the task's `max_idle_rounds` consecutive round attempts and lost
	/// its seat (`IdleSlash` of its bond).
	Idle,
}

/// A task and the state of its current round.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, RuntimeDebug,
)]
pub struct TaskInfo<AccountId, Balance> {
	/// Who created (and funds) the task.
	pub creator: AccountId,
	/// What the creator asked for.
	pub spec: TaskSpec<Balance>,
	/// Active, finished or cancelled.
	pub status: TaskStatus,
	/// The current round (the last one when the task has ended).
	pub round: RoundIndex,
	/// The phase of the current round.
	pub phase: Phase,
	/// Block at which the current phase closes (it may close earlier, see the docs).
	pub phase_ends_at: u32,
	/// Failed attempts of the current round so far.
	pub retries: u32,
	/// CID of the current global model M_r.
	pub model_cid: Cid,
	/// blake2-256 of the current global model M_r.
	pub model_hash: H256,
	/// Reward still held in escrow for this task (excludes the escrow account's deposit).
	pub escrow: Balance,
	/// Rewards paid out so far.
	pub paid: Balance,
	/// Contributors that joined.
	pub num_contributors: u32,
	/// Validators that joined.
	pub num_validators: u32,
	/// Contributors that joined during the current round and take part from the next one.
	pub pending_contributors: u32,
	/// Validators that joined during the current round and take part from the next one.
	pub pending_validators: u32,
	/// Submissions revealed in the current round.
	pub revealed: u32,
	/// Total bond of the current round attempt's electorate (fixed when the attempt opened).
	pub electorate_stake: Balance,
	/// Validators in the current round attempt's electorate.
	pub electorate_size: u32,
	/// Sealed votes committed in the current round attempt.
	pub vote_commits: u32,
	/// Votes revealed in the current round attempt.
	pub vote_reveals: u32,
	/// Electorate members that attested an aggregate in the current round attempt.
	pub attesters: u32,
	/// Index in `Proposals` of the aggregate adopted in the current round, if any.
	pub adopted: Option<u32>,
	/// The creator cancelled during a round: the task ends when this round is finalised.
	pub cancel_requested: bool,
	/// Storage deposit held from the creator until `purge_task` removes the task's round data.
	pub deposit: Balance,
	/// Total moved from bonds into this task's escrow by slashes.
	pub slashed: Balance,
	/// Block at which the task was created.
	pub created_at: u32,
	/// The task's running randomness: every revealed salt (updates and votes) mixes in.
	pub seed: H256,
	/// The seed the current attempt's cohort was drawn with (fixed when the attempt opened).
	pub draw_seed: H256,
	/// A contributor is in the current attempt's cohort when its ticket is at most this cut
	/// (`u64::MAX`: everyone eligible).
	pub cohort_cut: u64,
	/// Contributors drawn in the current attempt.
	pub cohort_size: u32,
	/// The seed the current attempt's committees were drawn with (fixed when the vote opened).
	pub committee_seed: H256,
}

/// Where a submission stands.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, RuntimeDebug,
)]
pub enum SubmissionStatus {
	/// Committed, not yet revealed.
	Committed,
	/// Revealed, awaiting the validators' consensus.
	Revealed,
	/// Accepted by consensus (set at finalisation).
	Accepted,
	/// Rejected by consensus (set at finalisation).
	Rejected,
	/// Never revealed (set at finalisation).
	Void,
}

/// A contributor's update in one round.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, RuntimeDebug,
)]
pub struct Submission<AccountId, Balance> {
	/// Who submitted.
	pub contributor: AccountId,
	/// blake2_256(SCALE(task_id, round, attempt, account, update_hash, num_examples, salt)).
	pub commitment: H256,
	/// CID of the update file, once revealed.
	pub cid: Option<Cid>,
	/// blake2-256 of the update file, once revealed.
	pub update_hash: Option<H256>,
	/// Number of training examples claimed (bound by the commitment; the cap applies to FedAvg).
	pub num_examples: u64,
	/// Electorate stake behind the revealed accept verdicts.
	pub accept_stake: Balance,
	/// Electorate stake behind the revealed reject verdicts.
	pub reject_stake: Balance,
	/// Where the submission stands.
	pub status: SubmissionStatus,
}

/// A proposed aggregate of a round.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, RuntimeDebug,
)]
pub struct Proposal<AccountId, Balance> {
	/// Who proposed it.
	pub proposer: AccountId,
	/// CID of the aggregated model.
	pub cid: Cid,
	/// blake2-256 of the aggregated model.
	pub hash: H256,
	/// Electorate stake of the validators that attested this hash.
	pub attest_stake: Balance,
	/// Validators that attested this hash.
	pub attestations: u32,
	/// Sum of the scores those validators reported (basis points).
	pub score_sum: u64,
}

/// What a finalised round produced.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, RuntimeDebug,
)]
pub struct RoundSummary<Balance> {
	/// CID of the adopted model M_{r+1}.
	pub model_cid: Cid,
	/// blake2-256 of the adopted model M_{r+1}.
	pub model_hash: H256,
	/// Updates accepted.
	pub accepted: u32,
	/// Updates revealed but rejected.
	pub rejected: u32,
	/// Commitments never revealed.
	pub void: u32,
	/// Mean score (basis points) of the attestations of the adopted model.
	pub attested_score: u32,
	/// Total paid to contributors.
	pub contributor_rewards: Balance,
	/// Total paid to validators.
	pub validator_rewards: Balance,
	/// Total slashed from bonds into the escrow at this finalisation.
	pub slashed: Balance,
	/// Failed attempts before this round succeeded.
	pub retries: u32,
	/// Block of finalisation.
	pub finalized_at: u32,
}
