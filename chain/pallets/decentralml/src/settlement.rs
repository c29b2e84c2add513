//! The end of a round attempt, in two steps:
//!
//! 1. [`Pallet::settle`] is **pure**: from the attempt's records ([`RoundRecords`], read once)
//!    it decides everything — whether the attempt succeeded, the slashes, the reputation
//!    changes, each member's idleness and seat, the submissions' statuses and the payouts —
//!    and returns a [`Settlement`], touching no storage;
//! 2. [`Pallet::apply_settlement`] is the **one** step that writes a settlement: it moves the
//!    funds (through [`crate::funds`]), records what actually moved (a payment can be dust), and
//!    opens the next round, retries the round, or ends the task.
//!
//! The payout rule itself ([`contributor_weights`], [`shares`]) is a pair of pure functions
//! the shared test vectors (`vectors/payout.json`) check, together with the consensus rule.

use crate::{
	consensus::{consensus_judged, Consensus, Judged},
	*,
};
use alloc::vec::Vec;
use frame_support::{
	dispatch::{DispatchResultWithPostInfo, PostDispatchInfo},
	pallet_prelude::*,
	storage::{with_transaction, TransactionOutcome},
	CloneNoBound, EqNoBound, PartialEqNoBound, RuntimeDebugNoBound,
};
use sp_arithmetic::{helpers_128bit::multiply_by_rational_with_rounding, Rounding};
use sp_runtime::{
	traits::{Saturating, Zero},
	SaturatedConversion,
};

/// Each accepted update's weight in the contributors' pool: its consensus score, or 1 for every
/// accepted update when all their scores are 0 (equal shares); 0 for a rejected one.
pub fn contributor_weights(accepted: &[bool], medians: &[u32]) -> Vec<u128> {
	let weights: Vec<u128> =
		accepted.iter().zip(medians.iter()).map(|(a, m)| if *a { *m as u128 } else { 0 }).collect();
	if weights.iter().all(|w| *w == 0) {
		accepted.iter().map(|a| *a as u128).collect()
	} else {
		weights
	}
}

/// Shares of `pool` in proportion to `weights`, each rounded down: `⌊pool × w / Σ w⌋` (the
/// remainder, dust, stays in escrow).
pub fn shares(pool: u128, weights: &[u128]) -> Vec<u128> {
	let total = weights.iter().fold(0u128, |a, w| a.saturating_add(*w)).max(1);
	weights
		.iter()
		.map(|w| multiply_by_rational_with_rounding(pool, *w, total, Rounding::Down).unwrap_or(0))
		.collect()
}

/// The judges of each revealed submission of an attempt, in submission order.
struct Committees {
	/// Ballot positions of each submission's judges.
	of: Vec<Vec<usize>>,
	/// The electorate bonds of each submission's judges.
	stakes: Vec<u128>,
	/// Whether every member judges every submission.
	full: bool,
}

/// What the consensus decided, for the payouts.
struct Judgement<'a> {
	accepted: &'a [bool],
	medians: &'a [u32],
	/// Q_v per ballot (0 for a silent member).
	quality: Vec<u128>,
	/// n_v per ballot: the revealed submissions it judges (0 for a silent member).
	assigned: Vec<u32>,
}

/// One electorate member of the attempt, as its records stand when it is finalised.
#[derive(CloneNoBound, PartialEqNoBound, EqNoBound, RuntimeDebugNoBound)]
pub struct Ballot<T: Config> {
	pub who: T::AccountId,
	/// Voting weight: the bond it joined with (fixed in the electorate).
	pub weight: BalanceOf<T>,
	/// Its current bond (0 if no longer a member): what slashes take and pay is weighted by.
	pub bond: BalanceOf<T>,
	/// Its revealed vote, if any.
	pub vote: Option<BoundedVec<Verdict, T::MaxVerdicts>>,
	/// The hash it attested, if any.
	pub attested: Option<H256>,
}

/// What finalising a round attempt reads: the task and the attempt's records.
pub struct RoundRecords<T: Config> {
	pub task_id: TaskId,
	pub task: TaskInfoOf<T>,
	pub now: u32,
	/// `SubmissionCount` of the attempt.
	pub count: u32,
	/// The attempt's submissions, by index.
	pub submissions: Vec<(SubmissionIndex, SubmissionOf<T>)>,
	/// The electorate, in electorate order.
	pub ballots: Vec<Ballot<T>>,
	pub proposals: Vec<ProposalOf<T>>,
	/// The task's members, in storage order.
	pub members: Vec<(T::AccountId, MemberInfo<BalanceOf<T>>)>,
}

/// How a member leaves its seat at the end of the attempt.
#[derive(Clone, Copy, PartialEq, Eq, RuntimeDebug)]
pub enum Exit {
	/// It lost its seat (`SeatLost`).
	Lost(SeatLoss),
	/// It had asked to leave (`TaskLeft`).
	Left,
}

/// The end of the attempt for one member eligible in the round.
#[derive(CloneNoBound, PartialEqNoBound, EqNoBound, RuntimeDebugNoBound)]
pub struct SeatChange<T: Config> {
	pub who: T::AccountId,
	/// Its consecutive idle attempts after this one.
	pub idle_rounds: u32,
	/// Whether it was idle in this attempt (`MemberIdle`).
	pub idle: bool,
	/// `IdleSlash` of its bond when idleness costs its seat.
	pub idle_slash: BalanceOf<T>,
	pub exit: Option<Exit>,
}

/// A successful attempt's outcome: the adopted model, the statuses and the payouts.
#[derive(CloneNoBound, PartialEqNoBound, EqNoBound, RuntimeDebugNoBound)]
pub struct Success<T: Config> {
	pub model: ProposalOf<T>,
	/// The final status of every submission (`Accepted`, `Rejected` or `Void`).
	pub statuses: Vec<(SubmissionIndex, SubmissionStatus)>,
	/// Each accepted update's contributor and share, in submission order.
	pub contributor_pay: Vec<(T::AccountId, BalanceOf<T>)>,
	/// Each paid validator and its share, in electorate order.
	pub validator_pay: Vec<(T::AccountId, BalanceOf<T>)>,
	pub accepted: u32,
	pub rejected: u32,
	pub void: u32,
	/// The mean score of the adopted model's attestations.
	pub attested_score: u32,
}

/// Everything finalising a round attempt changes, decided by [`Pallet::settle`].
#[derive(CloneNoBound, PartialEqNoBound, EqNoBound, RuntimeDebugNoBound)]
pub struct Settlement<T: Config> {
	/// Slashes before the members' end of attempt, in order: each voter's losing verdicts or
	/// silence, losing aggregates, unrevealed commitments.
	pub slashes: Vec<(T::AccountId, BalanceOf<T>, SlashReason)>,
	/// Reputation changes (`true`: +1), in order.
	pub reputation: Vec<(T::AccountId, bool)>,
	/// Each eligible member's end of the attempt, in storage order.
	pub seats: Vec<SeatChange<T>>,
	/// `Some` when the attempt succeeded.
	pub success: Option<Success<T>>,
}

impl<T: Config> RoundRecords<T> {
	/// Read the records of the current attempt of `task`.
	pub fn load(task_id: TaskId, task: &TaskInfoOf<T>) -> Self {
		let key = (task_id, task.round);
		let count = SubmissionCount::<T>::get(key);
		let submissions =
			(0..count).filter_map(|i| Submissions::<T>::get(key, i).map(|s| (i, s))).collect();
		let ballots = Electorate::<T>::get(key)
			.into_iter()
			.map(|(who, weight)| Ballot {
				bond: Members::<T>::get(task_id, &who).map(|m| m.bond).unwrap_or_default(),
				vote: Votes::<T>::get(key, &who),
				attested: Attestations::<T>::get(key, &who).map(|(h, _)| h),
				weight,
				who,
			})
			.collect();
		RoundRecords {
			task_id,
			task: task.clone(),
			now: Pallet::<T>::now(),
			count,
			submissions,
			ballots,
			proposals: Proposals::<T>::get(key).into_inner(),
			members: Members::<T>::iter_prefix(task_id).collect(),
		}
	}
}

/// The members' bonds as the settlement's slashes leave them, and those slashes in order.
struct Ledger<T: Config> {
	bonds: Vec<(T::AccountId, BalanceOf<T>)>,
	slashes: Vec<(T::AccountId, BalanceOf<T>, SlashReason)>,
}

impl<T: Config> Ledger<T> {
	fn new(members: &[(T::AccountId, MemberInfo<BalanceOf<T>>)]) -> Self {
		Ledger { bonds: members.iter().map(|(w, m)| (w.clone(), m.bond)).collect(), slashes: Vec::new() }
	}

	/// A member's bond after the slashes so far (0 for an account that is no member).
	fn bond(&self, who: &T::AccountId) -> BalanceOf<T> {
		self.bonds.iter().find(|(w, _)| w == who).map(|(_, b)| *b).unwrap_or_default()
	}

	/// Slash up to `amount` of a member's bond (at most what is left; nothing from a non-member).
	fn slash(&mut self, who: &T::AccountId, amount: BalanceOf<T>, reason: SlashReason) {
		let Some((_, bond)) = self.bonds.iter_mut().find(|(w, _)| w == who) else { return };
		let amount = amount.min(*bond);
		if !amount.is_zero() {
			*bond = bond.saturating_sub(amount);
			self.slashes.push((who.clone(), amount, reason));
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Decide the end of a round attempt from its records, without touching storage. Refused
	/// with `RoundNotFinished` while the attempt is undecided (§4 of `docs/chain.md`).
	pub fn settle(r: &RoundRecords<T>) -> Result<Settlement<T>, Error<T>> {
		let task = &r.task;
		let spec = &task.spec;
		let revealed: Vec<&SubmissionOf<T>> = r
			.submissions
			.iter()
			.map(|(_, s)| s)
			.filter(|s| s.status == SubmissionStatus::Revealed)
			.collect();
		let judged = Self::judged_by(r, &revealed);
		// Whether its judges' stake accepted each revealed submission, in order.
		let accepted: Vec<bool> = revealed
			.iter()
			.zip(judged.stakes.iter())
			.map(|(s, stake)| {
				!s.accept_stake.is_zero() &&
					s.accept_stake >= spec.quorum.mul_ceil(*stake).saturated_into()
			})
			.collect();
		let n_accepted = accepted.iter().filter(|a| **a).count() as u32;
		let enough =
			task.vote_reveals >= spec.min_validators && n_accepted >= spec.min_contributors;
		let adopted = task.adopted.and_then(|i| r.proposals.get(i as usize).cloned());
		let success = adopted.is_some() && enough;
		let decided = if success {
			task.attesters >= task.electorate_size || r.now >= task.phase_ends_at
		} else {
			!enough || r.now >= task.phase_ends_at
		};
		ensure!(decided, Error::<T>::RoundNotFinished);

		// Consensus over the revealed votes, weighted by the bonds the voters joined with, each
		// over the submissions its voter judges.
		let positions: Vec<SubmissionIndex> = r
			.submissions
			.iter()
			.filter(|(_, s)| s.status == SubmissionStatus::Revealed)
			.map(|(i, _)| *i)
			.collect();
		let voted: Vec<Judged> = r
			.ballots
			.iter()
			.enumerate()
			.filter_map(|(b, ballot)| ballot.vote.as_ref().map(|v| (b, ballot, v)))
			.map(|(b, ballot, vote)| {
				let mut verdicts = alloc::vec![None; positions.len()];
				for v in vote.iter() {
					if let Ok(i) = positions.binary_search(&v.submission) {
						verdicts[i] = Some(v);
					}
				}
				Judged {
					bond: ballot.weight.saturated_into::<u128>(),
					assigned: judged.of.iter().map(|js| js.contains(&b)).collect(),
					verdicts,
				}
			})
			.collect();
		let consensus = consensus_judged(
			&accepted,
			&voted,
			T::ScoreTolerance::get(),
			T::ProbeTolerance::get(),
			T::ProbeFloor::get(),
		);
		let vote_expected = task.revealed >= spec.min_contributors;
		let mut ledger = Ledger::<T>::new(&r.members);
		let (quality, assigned) =
			Self::slash_votes(r, &consensus, adopted.as_ref(), vote_expected, &mut ledger);
		let mut reputation = Vec::new();
		// A contributor that committed and did not reveal.
		for (_, sub) in r.submissions.iter().filter(|(_, s)| s.status == SubmissionStatus::Committed)
		{
			if let Some((_, m)) = r.members.iter().find(|(w, _)| *w == sub.contributor) {
				let amount = T::SilenceSlash::get().mul_floor(m.bond);
				ledger.slash(&sub.contributor, amount, SlashReason::Unrevealed);
			}
			reputation.push((sub.contributor.clone(), false));
		}
		let seats = Self::end_attempt(r, vote_expected, &ledger, &mut reputation);
		let slashes = ledger.slashes;
		let Some(model) = adopted.filter(|_| success) else {
			// A failed attempt: a silent member loses reputation when the vote was expected.
			for b in r.ballots.iter().filter(|b| b.vote.is_none() && vote_expected) {
				reputation.push((b.who.clone(), false));
			}
			return Ok(Settlement { slashes, reputation, seats, success: None })
		};
		let pay = Judgement { accepted: &accepted, medians: &consensus.medians, quality, assigned };
		let won = Self::payouts(r, model, pay, judged.full, &mut reputation);
		Ok(Settlement { slashes, reputation, seats, success: Some(won) })
	}

	/// The electorate's slashes: each voter's losing verdicts (against the consensus, or without
	/// evidence: n_v − matches, over the n_v submissions it judges), each silent member when the
	/// attempt reached the vote, and, when a hash was adopted, each member that proposed or
	/// attested another. Returns each ballot's Q_v and n_v (0 for a silent member).
	fn slash_votes(
		r: &RoundRecords<T>,
		consensus: &Consensus,
		adopted: Option<&ProposalOf<T>>,
		vote_expected: bool,
		ledger: &mut Ledger<T>,
	) -> (Vec<u128>, Vec<u32>) {
		let verdict_ppm = T::VerdictSlash::get().deconstruct() as u128;
		let mut quality: Vec<u128> = Vec::with_capacity(r.ballots.len());
		let mut assigned: Vec<u32> = Vec::with_capacity(r.ballots.len());
		let mut voter = 0usize;
		for b in r.ballots.iter() {
			if b.vote.is_some() {
				let (m, q) = (consensus.matches[voter], consensus.quality[voter]);
				let n = consensus.assigned[voter] as u128;
				voter += 1;
				quality.push(q);
				assigned.push(n as u32);
				let wrong = n.saturating_sub(m as u128);
				if wrong > 0 {
					let amount = multiply_by_rational_with_rounding(
						b.bond.saturated_into::<u128>(),
						wrong.saturating_mul(verdict_ppm),
						n.saturating_mul(PPM),
						Rounding::Down,
					)
					.unwrap_or(0);
					ledger.slash(&b.who, amount.saturated_into(), SlashReason::LosingVerdicts);
				}
			} else {
				quality.push(0);
				assigned.push(0);
				if vote_expected {
					let amount = T::SilenceSlash::get().mul_floor(b.bond);
					ledger.slash(&b.who, amount, SlashReason::Silence);
				}
			}
		}
		if let Some(model) = adopted {
			for b in r.ballots.iter() {
				let proposed_loser =
					r.proposals.iter().any(|p| p.hash != model.hash && p.proposer == b.who);
				let attested_loser = b.attested.is_some_and(|h| h != model.hash);
				if proposed_loser || attested_loser {
					let amount = T::LosingAttestSlash::get().mul_floor(b.bond);
					ledger.slash(&b.who, amount, SlashReason::LosingAggregate);
				}
			}
		}
		(quality, assigned)
	}

	/// The judges of each revealed submission (ballot positions; every ballot in full judging)
	/// and their stake, drawn with the attempt's committee seed.
	fn judged_by(r: &RoundRecords<T>, revealed: &[&SubmissionOf<T>]) -> Committees {
		let bonds: Vec<u128> = r.ballots.iter().map(|b| b.weight.saturated_into::<u128>()).collect();
		let full = sampling::full_judging(r.task.spec.committee, bonds.len() as u32);
		let of: Vec<Vec<usize>> = revealed
			.iter()
			.map(|s| Self::judges_of(r.task_id, &r.task, &s.contributor, &bonds))
			.collect();
		let stakes = of.iter().map(|js| js.iter().map(|j| bonds[*j]).sum()).collect();
		Committees { of, stakes, full }
	}

	/// The end of the attempt for every member eligible in the round (bonds as `ledger` left
	/// them): idleness, seats lost for idleness or a depleted bond, members that asked to leave.
	fn end_attempt(
		r: &RoundRecords<T>,
		vote_expected: bool,
		ledger: &Ledger<T>,
		reputation: &mut Vec<(T::AccountId, bool)>,
	) -> Vec<SeatChange<T>> {
		let spec = &r.task.spec;
		let mut seats = Vec::new();
		for (who, member) in r.members.iter().filter(|(_, m)| m.eligible_in(r.task.round)) {
			let acted = match member.role {
				Role::Contributor =>
					if r.submissions.iter().any(|(_, s)| s.contributor == *who) {
						Some(true)
					} else if Self::in_cohort(r.task_id, &r.task, who) {
						Some(false)
					} else {
						// Not drawn: it sat the round out.
						None
					},
				Role::Validator => r.ballots.iter().find(|b| b.who == *who).and_then(|b| {
					if b.vote.is_some() {
						Some(true)
					} else if vote_expected {
						Some(false)
					} else {
						None
					}
				}),
			};
			let bond = ledger.bond(who);
			let mut change = SeatChange {
				who: who.clone(),
				idle_rounds: member.idle_rounds,
				idle: false,
				idle_slash: Zero::zero(),
				exit: None,
			};
			match acted {
				Some(true) => change.idle_rounds = 0,
				Some(false) => {
					change.idle_rounds = member.idle_rounds.saturating_add(1);
					change.idle = true;
					if member.role == Role::Contributor {
						reputation.push((who.clone(), false));
					}
					let max_idle = spec.max_idle_rounds;
					if max_idle > 0 && change.idle_rounds >= max_idle {
						change.exit = Some(Exit::Lost(SeatLoss::Idle));
						change.idle_slash = T::IdleSlash::get().mul_floor(bond);
					}
				},
				None => {},
			}
			if change.exit.is_none() {
				if (MemberInfo { bond, ..member.clone() }).depleted(spec) {
					change.exit = Some(Exit::Lost(SeatLoss::BondDepleted));
				} else if member.leaving {
					change.exit = Some(Exit::Left);
				}
			}
			seats.push(change);
		}
		seats
	}

	/// A successful attempt: the statuses, the contributors' pay by consensus score (`medians`)
	/// and the validators' among the attesters of the adopted `model`, by bond × Q_v in full
	/// judging and by Q_v × n_v (the submissions each judged) with committees.
	fn payouts(
		r: &RoundRecords<T>,
		model: ProposalOf<T>,
		judgement: Judgement,
		full: bool,
		reputation: &mut Vec<(T::AccountId, bool)>,
	) -> Success<T> {
		let (accepted, medians, quality) = (judgement.accepted, judgement.medians, &judgement.quality);
		let spec = &r.task.spec;
		let reward = spec.reward_per_round;
		let validator_pool = spec.validator_share.mul_floor(reward);
		let contributor_pool: u128 = reward.saturating_sub(validator_pool).saturated_into();
		let contributor_shares = shares(contributor_pool, &contributor_weights(accepted, medians));
		let (mut statuses, mut contributor_pay) = (Vec::new(), Vec::new());
		let (mut rejected, mut void, mut j) = (0u32, 0u32, 0usize);
		for (index, sub) in r.submissions.iter() {
			let status = if sub.status == SubmissionStatus::Revealed {
				let ok = accepted[j];
				reputation.push((sub.contributor.clone(), ok));
				if ok {
					contributor_pay
						.push((sub.contributor.clone(), contributor_shares[j].saturated_into()));
				} else {
					rejected += 1;
				}
				j += 1;
				if ok {
					SubmissionStatus::Accepted
				} else {
					SubmissionStatus::Rejected
				}
			} else {
				void += 1;
				SubmissionStatus::Void
			};
			statuses.push((*index, status));
		}
		let mut paid: Vec<(T::AccountId, u128)> = Vec::new();
		for ((b, q), n_v) in r.ballots.iter().zip(quality.iter()).zip(judgement.assigned.iter()) {
			let attested = b.attested == Some(model.hash);
			// A voter that judged nothing (on no committee this round) neither gains nor loses.
			if b.vote.is_none() || *n_v > 0 {
				reputation.push((b.who.clone(), attested && q * 2 >= PPM));
			}
			if attested && *q > 0 {
				let work = if full { b.bond.saturated_into::<u128>() } else { *n_v as u128 };
				paid.push((b.who.clone(), work.saturating_mul(*q)));
			}
		}
		let weights: Vec<u128> = paid.iter().map(|(_, w)| *w).collect();
		let validator_pay = paid
			.into_iter()
			.zip(shares(validator_pool.saturated_into(), &weights))
			.map(|((who, _), share)| (who, share.saturated_into()))
			.collect();
		let attested_score = (model.score_sum / (model.attestations.max(1) as u64)) as u32;
		let n_accepted = accepted.iter().filter(|a| **a).count() as u32;
		Success {
			model,
			statuses,
			contributor_pay,
			validator_pay,
			accepted: n_accepted,
			rejected,
			void,
			attested_score,
		}
	}

	/// Finalise the rounds of [`ReadyToFinalize`] within `limit` (each costs what
	/// `finalize_round` declares for its task's seats); what does not fit waits for the next
	/// block. Each finalisation is a storage transaction of its own: one that fails (the round
	/// was finalised by a call meanwhile) leaves nothing behind and drops its entry.
	pub(crate) fn finalize_ready(limit: Weight) -> Weight {
		let db = T::DbWeight::get();
		let mut used = db.reads(1);
		if used.any_gt(limit) {
			return Weight::zero();
		}
		let ready = ReadyToFinalize::<T>::get();
		if ready.is_empty() {
			return used;
		}
		used = used.saturating_add(db.writes(1));
		let mut waiting = BoundedVec::<_, ConstU32<MAX_READY>>::new();
		for (task_id, round) in ready {
			let cost = Tasks::<T>::get(task_id).map_or(Weight::zero(), |task| {
				let (s, v) = (task.spec.max_contributors, task.electorate_size);
				T::WeightInfo::finalize_round(s, v, v, s.saturating_add(task.spec.max_validators))
			});
			used = used.saturating_add(db.reads(1));
			if used.saturating_add(cost).any_gt(limit) {
				let _ = waiting.try_push((task_id, round));
				continue;
			}
			let done = with_transaction(|| match Self::do_finalize_round(task_id, round) {
				Ok(post) => TransactionOutcome::Commit(Ok(post.actual_weight.unwrap_or(cost))),
				Err(e) => TransactionOutcome::Rollback(Err(e)),
			});
			used = used.saturating_add(done.unwrap_or_else(|_| db.reads(2)));
		}
		ReadyToFinalize::<T>::put(waiting);
		used
	}

	/// Finalise round `round` of a task in `Aggregate`: read its records, settle, apply.
	pub(crate) fn do_finalize_round(task_id: TaskId, round: RoundIndex) -> DispatchResultWithPostInfo {
		let mut task = Self::active_task(task_id)?;
		ensure!(round == task.round, Error::<T>::WrongRound);
		ensure!(task.phase == Phase::Aggregate, Error::<T>::RoundNotFinished);
		let records = RoundRecords::<T>::load(task_id, &task);
		let settlement = Self::settle(&records)?;
		Self::apply_settlement(&records, settlement, &mut task)
	}

	/// Write a settlement: slashes, the members' end of attempt, reputations, then the
	/// statuses, payments and summary of a success (or the clearing of a failed attempt), and
	/// the next attempt or the end of the task. Records what actually moved.
	pub(crate) fn apply_settlement(
		r: &RoundRecords<T>,
		s: Settlement<T>,
		task: &mut TaskInfoOf<T>,
	) -> DispatchResultWithPostInfo {
		let (task_id, round, now) = (r.task_id, task.round, r.now);
		let key = (task_id, round);
		let mut slashed: BalanceOf<T> = Zero::zero();
		for (who, amount, reason) in s.slashes.iter() {
			slashed = slashed.saturating_add(Self::slash(task_id, round, who, *amount, *reason));
		}
		for change in s.seats.iter() {
			let who = &change.who;
			let Some(mut member) = Members::<T>::get(task_id, who) else { continue };
			if change.idle {
				Self::deposit_event(Event::MemberIdle {
					task_id,
					round,
					who: who.clone(),
					idle_rounds: change.idle_rounds,
				});
			}
			if member.idle_rounds != change.idle_rounds {
				member.idle_rounds = change.idle_rounds;
				Members::<T>::insert(task_id, who, member);
			}
			if change.exit == Some(Exit::Lost(SeatLoss::Idle)) {
				slashed = slashed.saturating_add(Self::slash(
					task_id,
					round,
					who,
					change.idle_slash,
					SlashReason::Idle,
				));
			}
			let Some(member) = Members::<T>::get(task_id, who) else { continue };
			match change.exit {
				Some(Exit::Lost(reason)) => {
					let released = Self::remove_member(task_id, task, who, &member);
					let who = who.clone();
					Self::deposit_event(Event::SeatLost { task_id, round, who, reason, released });
				},
				Some(Exit::Left) => {
					let released = Self::remove_member(task_id, task, who, &member);
					Self::deposit_event(Event::TaskLeft { task_id, who: who.clone(), released });
				},
				None => {},
			}
		}
		for (who, up) in s.reputation.iter() {
			Self::adjust_reputation(who, *up);
		}
		task.slashed = task.slashed.saturating_add(slashed);
		task.escrow = task.escrow.saturating_add(slashed);

		let success = s.success.is_some();
		match s.success {
			Some(won) => {
				for (index, status) in won.statuses.iter() {
					if let Some((_, sub)) = r.submissions.iter().find(|(i, _)| i == index) {
						Submissions::<T>::insert(key, index, Submission { status: *status, ..sub.clone() });
					}
				}
				let mut contributor_rewards: BalanceOf<T> = Zero::zero();
				for (who, share) in won.contributor_pay.iter() {
					let paid = Self::pay(task_id, round, who, *share)?;
					contributor_rewards = contributor_rewards.saturating_add(paid);
				}
				let mut validator_rewards: BalanceOf<T> = Zero::zero();
				for (who, share) in won.validator_pay.iter() {
					let paid = Self::pay(task_id, round, who, *share)?;
					validator_rewards = validator_rewards.saturating_add(paid);
				}
				let paid = contributor_rewards.saturating_add(validator_rewards);
				task.escrow = task.escrow.saturating_sub(paid);
				task.paid = task.paid.saturating_add(paid);
				RoundSummaries::<T>::insert(
					key,
					RoundSummary {
						model_cid: won.model.cid.clone(),
						model_hash: won.model.hash,
						accepted: won.accepted,
						rejected: won.rejected,
						void: won.void,
						attested_score: won.attested_score,
						contributor_rewards,
						validator_rewards,
						slashed,
						retries: task.retries,
						finalized_at: now,
					},
				);
				task.model_cid = won.model.cid;
				task.model_hash = won.model.hash;
				Self::deposit_event(Event::RoundFinalized {
					task_id,
					round,
					accepted: won.accepted,
					rejected: won.rejected,
					attested_score: won.attested_score,
					contributor_rewards,
					validator_rewards,
					slashed,
				});
			},
			None => {
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
				// Members still waiting: contributors that joined a cohort task too late for
				// the next round's draw (members that left are gone from the counts already).
				let next = task.round;
				let waiting = |role| {
					r.members.iter().filter(|(_, m)| m.role == role && m.from_round > next).count()
				};
				task.pending_contributors = waiting(Role::Contributor) as u32;
				task.pending_validators = waiting(Role::Validator) as u32;
			}
			Self::open_attempt(task_id, task, now);
		}
		Tasks::<T>::insert(task_id, task.clone());
		Ok(PostDispatchInfo {
			actual_weight: Some(T::WeightInfo::finalize_round(
				r.count,
				r.ballots.len() as u32,
				r.proposals.len() as u32,
				(r.members.len() as u32).max(members_released),
			)),
			pays_fee: Pays::Yes,
		})
	}
}
