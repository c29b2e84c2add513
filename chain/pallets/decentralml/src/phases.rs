//! A round's phase machine: opening an attempt (fixing its electorate), the lazy transitions
//! with their deadlines and early closes, and what each phase accepts — commitments and reveals
//! of updates, sealed votes, proposals and attestations of the aggregate. Finalisation, the end
//! of the `Aggregate` phase, is in [`crate::settlement`].

use crate::*;
use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use sp_runtime::{
	traits::{Saturating, Zero},
	SaturatedConversion,
};

impl<T: Config> Pallet<T> {
	pub(crate) fn now() -> u32 {
		frame_system::Pallet::<T>::block_number().saturated_into()
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
		H256((task_id, round, attempt, who, verdicts, salt).using_encoded(sp_io::hashing::blake2_256))
	}

	/// Stake an update's accept verdicts, or an aggregate's attestations, need:
	/// `quorum.mul_ceil(electorate_stake)`.
	pub fn stake_threshold(task: &TaskInfoOf<T>) -> BalanceOf<T> {
		task.spec.quorum.mul_ceil(task.electorate_stake)
	}

	/// The bond `who` has in the electorate of the round attempt `key`, if it is in it.
	pub fn electorate_bond(key: (TaskId, RoundIndex), who: &T::AccountId) -> Option<BalanceOf<T>> {
		Electorate::<T>::get(key).into_iter().find(|(v, _)| v == who).map(|(_, b)| b)
	}

	fn ensure_contributor(
		task_id: TaskId,
		who: &T::AccountId,
	) -> Result<MemberInfo<BalanceOf<T>>, DispatchError> {
		let member = Members::<T>::get(task_id, who).ok_or(Error::<T>::NotMember)?;
		ensure!(member.role == Role::Contributor, Error::<T>::NotContributor);
		Ok(member)
	}

	/// Enter `phase` until `ends_at` (`PhaseChanged`).
	fn enter(task_id: TaskId, task: &mut TaskInfoOf<T>, phase: Phase, ends_at: u32) {
		task.phase = phase;
		task.phase_ends_at = ends_at;
		Self::deposit_event(Event::PhaseChanged { task_id, round: task.round, phase, ends_at });
	}

	/// Open an attempt of the current round: fix the electorate (joined validators eligible
	/// for this round, not leaving and holding at least half the task's validator bond, each
	/// weighted by the bond it joined with) and enter `Commit`; when the electorate or the eligible
	/// contributors are too few, (re-)enter `Enrol` instead. Returns whether `Commit` opened.
	pub(crate) fn open_attempt(task_id: TaskId, task: &mut TaskInfoOf<T>, now: u32) -> bool {
		let key = (task_id, task.round);
		let mut electorate: ElectorateOf<T> = BoundedVec::new();
		let mut stake: BalanceOf<T> = Zero::zero();
		for who in TaskValidators::<T>::get(task_id) {
			if let Some(m) = Members::<T>::get(task_id, &who) {
				if m.eligible_in(task.round) &&
					!m.leaving && !m.depleted(&task.spec) &&
					electorate.try_push((who, m.joined_bond)).is_ok()
				{
					stake = stake.saturating_add(m.joined_bond);
				}
			}
		}
		task.reset_attempt();
		Self::draw_cohort(task_id, task);
		let size = electorate.len() as u32;
		let viable = size >= task.spec.min_validators &&
			!stake.is_zero() &&
			task.cohort_size >= task.spec.min_contributors;
		let (phase, ends_at) = if viable {
			Electorate::<T>::insert(key, electorate);
			task.electorate_stake = stake;
			task.electorate_size = size;
			Self::deposit_event(Event::ElectorateFixed { task_id, round: task.round, size, stake });
			Self::deposit_event(Event::CohortDrawn {
				task_id,
				round: task.round,
				size: task.cohort_size,
				cut: task.cohort_cut,
				seed: task.draw_seed,
			});
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
		Self::enter(task_id, task, phase, ends_at);
		viable
	}

	/// Draw the cohort of the attempt opening now (`docs/committees.md`): fix its seed (round
	/// 0's first attempt also mixes in the hash of the parent block), and, when the task sets a
	/// cohort, the cut of the eligible contributors' tickets.
	fn draw_cohort(task_id: TaskId, task: &mut TaskInfoOf<T>) {
		task.draw_seed = if task.round == 0 && task.retries == 0 {
			let parent = frame_system::Pallet::<T>::parent_hash();
			sampling::mix(&task.seed, &parent.using_encoded(sp_io::hashing::blake2_256))
		} else {
			task.seed
		};
		let (round, attempt, seed) = (task.round, task.retries, task.draw_seed);
		(task.cohort_cut, task.cohort_size) = if task.spec.cohort == 0 {
			(u64::MAX, task.eligible_contributors())
		} else {
			let tickets: Vec<u64> = Members::<T>::iter_prefix(task_id)
				.filter(|(_, m)| m.role == Role::Contributor && m.eligible_in(round) && !m.leaving)
				.map(|(who, _)| sampling::ticket(task_id, round, attempt, &seed, &who))
				.collect();
			sampling::cohort_cut(tickets, task.spec.cohort)
		};
	}

	/// Whether `who` is in the cohort of the task's current attempt.
	pub fn in_cohort(task_id: TaskId, task: &TaskInfoOf<T>, who: &T::AccountId) -> bool {
		task.cohort_cut == u64::MAX ||
			sampling::ticket(task_id, task.round, task.retries, &task.draw_seed, who) <=
				task.cohort_cut
	}

	/// The judges (positions in `bonds`, the electorate's bonds in order) of the update of
	/// `contributor` in the task's current attempt.
	pub fn judges_of(
		task_id: TaskId,
		task: &TaskInfoOf<T>,
		contributor: &T::AccountId,
		bonds: &[u128],
	) -> Vec<usize> {
		sampling::judges(
			task_id,
			task.round,
			task.retries,
			&task.committee_seed,
			contributor,
			bonds,
			task.spec.committee,
			task.spec.audit.deconstruct(),
		)
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
					let ready = expired &&
						task.eligible_validators() >= spec.min_validators &&
						task.eligible_contributors() >= spec.min_contributors;
					if !(task.seats_full() || ready) || !Self::open_attempt(task_id, task, now) {
						break;
					}
					continue;
				},
				Phase::Commit => {
					let committed = SubmissionCount::<T>::get((task_id, task.round));
					let all_in = committed >= task.cohort_size &&
						committed >= spec.min_contributors;
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
			let (phase, ends_at) =
				if viable { (next, start.saturating_add(len)) } else { (Phase::Aggregate, start) };
			if phase == Phase::VoteCommit {
				// The committees are drawn with the seed as the update reveals left it.
				task.committee_seed = task.seed;
				let seed = task.seed;
				Self::deposit_event(Event::CommitteesDrawn { task_id, round: task.round, seed });
			}
			Self::enter(task_id, task, phase, ends_at);
		}
	}

	/// Clear the data of a failed round attempt (update hashes stay: a hash is used once).
	pub(crate) fn clear_attempt(key: (TaskId, RoundIndex)) {
		let (contributors, validators) = (T::MaxContributors::get(), T::MaxValidators::get());
		let _ = Submissions::<T>::clear_prefix(key, contributors, None);
		let _ = CommitmentOf::<T>::clear_prefix(key, contributors, None);
		let _ = VoteCommits::<T>::clear_prefix(key, validators, None);
		let _ = Votes::<T>::clear_prefix(key, validators, None);
		let _ = Attestations::<T>::clear_prefix(key, validators, None);
		SubmissionCount::<T>::remove(key);
		Proposals::<T>::remove(key);
	}

	pub(crate) fn do_commit_update(
		who: T::AccountId,
		task_id: TaskId,
		round: RoundIndex,
		commitment: H256,
	) -> DispatchResult {
		let mut task = Self::active_task(task_id)?;
		ensure!(round == task.round, Error::<T>::WrongRound);
		let member = Self::ensure_contributor(task_id, &who)?;
		ensure!(member.eligible_in(round), Error::<T>::NotYetEligible);
		ensure!(task.phase != Phase::Enrol, Error::<T>::WrongPhase);
		ensure!(task.phase == Phase::Commit, Error::<T>::CommitDeadlinePassed);
		ensure!(Self::in_cohort(task_id, &task, &who), Error::<T>::NotInCohort);
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

	#[allow(clippy::too_many_arguments)]
	pub(crate) fn do_reveal_update(
		who: T::AccountId,
		task_id: TaskId,
		round: RoundIndex,
		cid: Cid,
		update_hash: H256,
		num_examples: u64,
		salt: [u8; 32],
	) -> DispatchResult {
		let mut task = Self::active_task(task_id)?;
		ensure!(round == task.round, Error::<T>::WrongRound);
		Self::ensure_contributor(task_id, &who)?;
		ensure!(task.phase == Phase::Reveal, Error::<T>::WrongPhase);
		let key = (task_id, round);
		let index = CommitmentOf::<T>::get(key, &who).ok_or(Error::<T>::NoCommitment)?;
		let mut sub = Submissions::<T>::get(key, index).ok_or(Error::<T>::NoCommitment)?;
		ensure!(sub.status == SubmissionStatus::Committed, Error::<T>::AlreadyRevealed);
		ensure!(num_examples >= 1, Error::<T>::NoExamples);
		let expected =
			Self::update_commitment(task_id, round, task.retries, &who, &update_hash, num_examples, &salt);
		ensure!(expected == sub.commitment, Error::<T>::CommitmentMismatch);
		ensure!(!UpdateHashes::<T>::contains_key(key, update_hash), Error::<T>::DuplicateUpdate);
		sub.cid = Some(cid.clone());
		sub.update_hash = Some(update_hash);
		sub.num_examples = num_examples;
		sub.status = SubmissionStatus::Revealed;
		Submissions::<T>::insert(key, index, sub);
		UpdateHashes::<T>::insert(key, update_hash, index);
		task.revealed = task.revealed.saturating_add(1);
		task.seed = sampling::mix(&task.seed, &salt);
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

	pub(crate) fn do_commit_vote(
		who: T::AccountId,
		task_id: TaskId,
		round: RoundIndex,
		commitment: H256,
	) -> DispatchResult {
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

	pub(crate) fn do_reveal_vote(
		who: T::AccountId,
		task_id: TaskId,
		round: RoundIndex,
		verdicts: Vec<Verdict>,
		salt: [u8; 32],
	) -> DispatchResult {
		let mut task = Self::active_task(task_id)?;
		ensure!(round == task.round, Error::<T>::WrongRound);
		match task.phase {
			Phase::VoteReveal => {},
			Phase::Aggregate => return Err(Error::<T>::WrongPhase.into()),
			_ => return Err(Error::<T>::VotesSealed.into()),
		}
		let key = (task_id, round);
		let electorate = Electorate::<T>::get(key);
		let me = electorate.iter().position(|(v, _)| *v == who).ok_or(Error::<T>::NotInElectorate)?;
		let bond = electorate[me].1;
		let commitment = VoteCommits::<T>::get(key, &who).ok_or(Error::<T>::NoVoteCommitment)?;
		ensure!(!Votes::<T>::contains_key(key, &who), Error::<T>::AlreadyRevealed);
		ensure!(
			Self::vote_commitment(task_id, round, task.retries, &who, &verdicts, &salt) == commitment,
			Error::<T>::VoteMismatch
		);
		let verdicts: BoundedVec<Verdict, T::MaxVerdicts> =
			verdicts.try_into().map_err(|_| Error::<T>::TooManyVerdicts)?;
		let updated = if sampling::full_judging(task.spec.committee, task.electorate_size) {
			Self::tally_full(key, &verdicts, bond)?
		} else {
			let bonds: Vec<u128> =
				electorate.iter().map(|(_, b)| (*b).saturated_into::<u128>()).collect();
			Self::tally_committee(task_id, &task, &verdicts, bond, me, &bonds)?
		};
		for (index, sub) in updated {
			Submissions::<T>::insert(key, index, sub);
		}
		let n = verdicts.len() as u32;
		Votes::<T>::insert(key, &who, verdicts);
		task.vote_reveals = task.vote_reveals.saturating_add(1);
		task.seed = sampling::mix(&task.seed, &salt);
		Self::deposit_event(Event::VoteRevealed { task_id, round, validator: who, verdicts: n });
		Self::advance(task_id, &mut task);
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	/// Add a verdict's bond to its submission's accept or reject stake.
	fn tally(sub: &mut SubmissionOf<T>, v: &Verdict, bond: BalanceOf<T>) -> DispatchResult {
		ensure!(v.score <= MAX_SCORE, Error::<T>::InvalidScore);
		if v.accept {
			sub.accept_stake = sub.accept_stake.saturating_add(bond);
		} else {
			sub.reject_stake = sub.reject_stake.saturating_add(bond);
		}
		Ok(())
	}

	/// The submissions a full-judging vote updates: it judges every revealed submission exactly
	/// once, in ascending order.
	fn tally_full(
		key: (TaskId, RoundIndex),
		verdicts: &[Verdict],
		bond: BalanceOf<T>,
	) -> Result<Vec<(SubmissionIndex, SubmissionOf<T>)>, DispatchError> {
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
			Self::tally(&mut sub, v, bond)?;
			updated.push((index, sub));
		}
		ensure!(next.peek().is_none(), Error::<T>::IncompleteVote);
		Ok(updated)
	}

	/// The submissions a committee vote updates: verdicts in ascending order, each on a revealed
	/// submission whose committee holds the voter (position `me` of the electorate); an
	/// assigned submission it leaves out counts as a losing verdict at finalisation.
	fn tally_committee(
		task_id: TaskId,
		task: &TaskInfoOf<T>,
		verdicts: &[Verdict],
		bond: BalanceOf<T>,
		me: usize,
		bonds: &[u128],
	) -> Result<Vec<(SubmissionIndex, SubmissionOf<T>)>, DispatchError> {
		let key = (task_id, task.round);
		let mut updated = Vec::with_capacity(verdicts.len());
		let mut last: Option<SubmissionIndex> = None;
		for v in verdicts {
			ensure!(last.is_none_or(|l| v.submission > l), Error::<T>::IncompleteVote);
			last = Some(v.submission);
			let mut sub = Submissions::<T>::get(key, v.submission).ok_or(Error::<T>::IncompleteVote)?;
			ensure!(sub.status == SubmissionStatus::Revealed, Error::<T>::IncompleteVote);
			let judges = Self::judges_of(task_id, task, &sub.contributor, bonds);
			ensure!(judges.contains(&me), Error::<T>::NotInCommittee);
			Self::tally(&mut sub, v, bond)?;
			updated.push((v.submission, sub));
		}
		Ok(updated)
	}

	pub(crate) fn do_propose_aggregate(
		who: T::AccountId,
		task_id: TaskId,
		round: RoundIndex,
		cid: Cid,
		hash: H256,
	) -> DispatchResult {
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
		Self::push_proposal(&mut proposals, &who, task_id, round, cid, hash)?;
		Proposals::<T>::insert(key, proposals);
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	/// Add `who`'s proposal of `(cid, hash)` to a round's proposals (`AggregateProposed`).
	fn push_proposal(
		proposals: &mut BoundedVec<ProposalOf<T>, T::MaxValidators>,
		who: &T::AccountId,
		task_id: TaskId,
		round: RoundIndex,
		cid: Cid,
		hash: H256,
	) -> DispatchResult {
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
		let proposer = who.clone();
		Self::deposit_event(Event::AggregateProposed { task_id, round, proposer, cid, hash });
		Ok(())
	}

	pub(crate) fn do_attest_aggregate(
		who: T::AccountId,
		task_id: TaskId,
		round: RoundIndex,
		cid: Cid,
		hash: H256,
		score: u32,
	) -> DispatchResult {
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
		let index = match proposals.iter().position(|p| p.hash == hash) {
			Some(index) => index,
			None => {
				// Attesting a hash nobody proposed proposes it: the proposal and the proposer's
				// own attestation in one transaction, so every validator can attest the
				// aggregate it computed in the block after the votes open.
				ensure!(proposals.iter().all(|p| p.proposer != who), Error::<T>::AlreadyProposed);
				Self::push_proposal(&mut proposals, &who, task_id, round, cid.clone(), hash)?;
				proposals.len() - 1
			},
		};
		let proposal = &mut proposals[index];
		ensure!(proposal.cid == cid, Error::<T>::ProposalMismatch);
		proposal.attest_stake = proposal.attest_stake.saturating_add(bond);
		proposal.attestations = proposal.attestations.saturating_add(1);
		proposal.score_sum = proposal.score_sum.saturating_add(score as u64);
		let (attestations, attest_stake) = (proposal.attestations, proposal.attest_stake);
		Attestations::<T>::insert(key, &who, (hash, score));
		Proposals::<T>::insert(key, proposals);
		task.attesters = task.attesters.saturating_add(1);
		Self::deposit_event(Event::AggregateAttested { task_id, round, validator: who, hash, score });
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
		if task.adopted.is_some() && task.attesters >= task.electorate_size {
			ReadyToFinalize::<T>::mutate(|ready| {
				// Full: a `finalize_round` call finalises it instead.
				let _ = ready.try_push((task_id, round));
			});
		}
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}
}
