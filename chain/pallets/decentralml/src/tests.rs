//! One test per rule, named after the rule.

// `dml_timing` switches on the release-mode timing benchmark at the end of this file.
#![allow(unexpected_cfgs)]

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, InspectHold},
		Get,
	},
};
use sp_arithmetic::Permill;

type E = crate::Event<Test>;
type Err = crate::Error<Test>;

const CREATOR: u8 = 1;
const REWARD: Balance = 10_000;

fn origin(n: u8) -> RuntimeOrigin {
	RuntimeOrigin::signed(acc(n))
}

fn cid(s: &str) -> Cid {
	s.as_bytes().to_vec().try_into().unwrap()
}

fn h(n: u8) -> H256 {
	H256::repeat_byte(n)
}

fn salt(n: u8) -> [u8; 32] {
	[n.wrapping_add(100); 32]
}

fn spec() -> TaskSpec<Balance> {
	TaskSpec {
		model_cid: cid("bafy-model-0"),
		model_hash: h(0xAA),
		rounds: 2,
		min_contributors: 2,
		max_contributors: 4,
		quorum: Permill::from_rational(2u32, 3u32),
		min_validators: 2,
		reward_per_round: REWARD,
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

fn has(event: E) {
	System::assert_has_event(RuntimeEvent::DecentralMl(event));
}

fn no(event: E) -> bool {
	!System::events().iter().any(|r| r.event == RuntimeEvent::DecentralMl(event.clone()))
}

fn register(n: u8, role: Role) {
	let stake = match role {
		Role::Contributor => MIN_CONTRIBUTOR_STAKE,
		Role::Validator => MIN_VALIDATOR_STAKE,
	};
	assert_ok!(DecentralMl::register(origin(n), role, stake, [n; 32]));
}

/// Creates task 0 (or the next) from `spec` with contributors and validators registered and joined.
fn task_with(spec: TaskSpec<Balance>, contributors: &[u8], validators: &[u8]) -> TaskId {
	let id = NextTaskId::<Test>::get();
	assert_ok!(DecentralMl::create_task(origin(CREATOR), spec));
	for c in contributors {
		if Participants::<Test>::get(acc(*c)).and_then(|p| p.contributor_stake).is_none() {
			register(*c, Role::Contributor);
		}
		assert_ok!(DecentralMl::join_task(origin(*c), id, Role::Contributor));
	}
	for v in validators {
		if Participants::<Test>::get(acc(*v)).and_then(|p| p.validator_stake).is_none() {
			register(*v, Role::Validator);
		}
		assert_ok!(DecentralMl::join_task(origin(*v), id, Role::Validator));
	}
	id
}

fn default_task() -> TaskId {
	task_with(spec(), &[11, 12, 13], &[21, 22, 23])
}

fn update_hash(who: u8, round: RoundIndex) -> H256 {
	H256::repeat_byte(who ^ (round as u8).wrapping_mul(31))
}

fn commit(who: u8, task: TaskId, round: RoundIndex) {
	let c = DecentralMl::commitment(&update_hash(who, round), &salt(who), &acc(who));
	assert_ok!(DecentralMl::commit_update(origin(who), task, round, c));
}

fn reveal(who: u8, task: TaskId, round: RoundIndex, examples: u64) {
	assert_ok!(DecentralMl::reveal_update(
		origin(who),
		task,
		round,
		cid("bafy-update"),
		update_hash(who, round),
		examples,
		salt(who)
	));
}

fn verdicts(v: &[(u32, bool)]) -> Vec<Verdict> {
	v.iter().map(|(s, a)| Verdict { submission: *s, accept: *a, score: 9_000 }).collect()
}

fn task(id: TaskId) -> TaskInfo<AccountId, Balance> {
	Tasks::<Test>::get(id).unwrap()
}

fn escrow_balance(id: TaskId) -> Balance {
	Balances::balance(&DecentralMl::escrow_account(id))
}

fn stake_held(n: u8) -> Balance {
	Balances::balance_on_hold(&HoldReason::Stake.into(), &acc(n))
}

/// Contributors 11, 12, 13 commit and reveal; the round is then in its vote phase.
fn to_vote_phase(id: TaskId, round: RoundIndex) {
	for c in [11, 12, 13] {
		commit(c, id, round);
	}
	assert_eq!(task(id).phase, Phase::Reveal);
	for (c, n) in [(11, 100), (12, 300), (13, 50)] {
		reveal(c, id, round, n);
	}
	assert_eq!(task(id).phase, Phase::Vote);
}

/// All three validators accept 0 and 1 and reject 2; the round is then aggregating.
fn to_aggregate_phase(id: TaskId, round: RoundIndex) {
	to_vote_phase(id, round);
	for v in [21, 22, 23] {
		assert_ok!(DecentralMl::vote(origin(v), id, round, verdicts(&[(0, true), (1, true), (2, false)])));
	}
	assert_eq!(task(id).phase, Phase::Aggregate);
}

// ---------------------------------------------------------------- registry

#[test]
fn register_holds_the_stake_and_starts_reputation_at_500() {
	new_test_ext().execute_with(|| {
		assert_ok!(DecentralMl::register(origin(2), Role::Contributor, 150, [7; 32]));
		has(E::Registered { who: acc(2), role: Role::Contributor, stake: 150 });
		assert_ok!(DecentralMl::register(origin(2), Role::Validator, 250, [8; 32]));
		let p = Participants::<Test>::get(acc(2)).unwrap();
		assert_eq!(p.reputation, INITIAL_REPUTATION);
		assert_eq!((p.contributor_stake, p.validator_stake), (Some(150), Some(250)));
		assert_eq!(p.x25519_key, [8; 32]);
		assert_eq!(stake_held(2), 400);
	});
}

#[test]
fn register_refuses_a_stake_below_the_role_minimum() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			DecentralMl::register(origin(2), Role::Contributor, MIN_CONTRIBUTOR_STAKE - 1, [0; 32]),
			Err::StakeTooLow
		);
		assert_noop!(
			DecentralMl::register(origin(2), Role::Validator, MIN_VALIDATOR_STAKE - 1, [0; 32]),
			Err::StakeTooLow
		);
	});
}

#[test]
fn register_refuses_a_role_already_held() {
	new_test_ext().execute_with(|| {
		register(2, Role::Contributor);
		assert_noop!(
			DecentralMl::register(origin(2), Role::Contributor, 500, [0; 32]),
			Err::AlreadyRegistered
		);
	});
}

#[test]
fn register_refuses_a_stake_the_account_cannot_afford() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			DecentralMl::register(origin(2), Role::Contributor, ENDOWMENT, [0; 32]),
			Err::InsufficientBalance
		);
		// Account 99 has nothing.
		assert_noop!(
			DecentralMl::register(origin(99), Role::Contributor, MIN_CONTRIBUTOR_STAKE, [0; 32]),
			Err::InsufficientBalance
		);
	});
}

#[test]
fn deregister_releases_the_stake_and_keeps_the_reputation() {
	new_test_ext().execute_with(|| {
		register(2, Role::Validator);
		assert_ok!(DecentralMl::deregister(origin(2), Role::Validator));
		has(E::Deregistered { who: acc(2), role: Role::Validator, released: MIN_VALIDATOR_STAKE });
		assert_eq!(stake_held(2), 0);
		let p = Participants::<Test>::get(acc(2)).unwrap();
		assert_eq!((p.validator_stake, p.reputation), (None, INITIAL_REPUTATION));
	});
}

#[test]
fn deregister_refuses_a_role_not_held() {
	new_test_ext().execute_with(|| {
		assert_noop!(DecentralMl::deregister(origin(2), Role::Validator), Err::NotRegistered);
		register(2, Role::Contributor);
		assert_noop!(DecentralMl::deregister(origin(2), Role::Validator), Err::NotRegistered);
	});
}

#[test]
fn deregister_refuses_while_in_an_active_task_in_that_role() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		assert_noop!(DecentralMl::deregister(origin(11), Role::Contributor), Err::HasOpenCommitments);
		// Another role of the same account is free to go.
		register(11, Role::Validator);
		assert_ok!(DecentralMl::deregister(origin(11), Role::Validator));
		// After the task ends, the contributor may leave.
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		assert_ok!(DecentralMl::deregister(origin(11), Role::Contributor));
	});
}

// ---------------------------------------------------------------- tasks

#[test]
fn create_task_escrows_all_rewards_plus_the_existential_deposit() {
	new_test_ext().execute_with(|| {
		let before = Balances::balance(&acc(CREATOR));
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		has(E::TaskCreated { task_id: 0, creator: acc(CREATOR), escrow: 2 * REWARD });
		has(E::PhaseChanged { task_id: 0, round: 0, phase: Phase::Commit, ends_at: 11 });
		assert_eq!(escrow_balance(0), 2 * REWARD + ED);
		assert_eq!(Balances::balance(&acc(CREATOR)), before - 2 * REWARD - ED);
		let t = task(0);
		assert_eq!((t.status, t.round, t.phase, t.escrow), (TaskStatus::Active, 0, Phase::Commit, 2 * REWARD));
		assert_eq!((t.model_cid, t.model_hash), (cid("bafy-model-0"), h(0xAA)));
		assert_eq!(NextTaskId::<Test>::get(), 1);
	});
}

#[test]
fn create_task_refuses_a_reward_below_the_minimum() {
	new_test_ext().execute_with(|| {
		let s = TaskSpec { reward_per_round: MIN_REWARD - 1, ..spec() };
		assert_noop!(DecentralMl::create_task(origin(CREATOR), s), Err::RewardTooLow);
	});
}

#[test]
fn create_task_refuses_inconsistent_specs() {
	new_test_ext().execute_with(|| {
		let bad = [
			TaskSpec { rounds: 0, ..spec() },
			TaskSpec { rounds: 1_001, ..spec() },
			TaskSpec { min_contributors: 0, ..spec() },
			TaskSpec { min_contributors: 5, max_contributors: 4, ..spec() },
			TaskSpec { max_contributors: 257, ..spec() },
			TaskSpec { quorum: Permill::zero(), ..spec() },
			TaskSpec { min_validators: 0, ..spec() },
			TaskSpec { min_validators: 33, ..spec() },
			TaskSpec { max_examples: 0, ..spec() },
			TaskSpec { commit_blocks: 0, ..spec() },
			TaskSpec { vote_blocks: 100_001, ..spec() },
			TaskSpec { model_cid: cid(""), ..spec() },
			TaskSpec { rule: AggregationRule::TrimmedMean { beta: Permill::from_percent(50) }, ..spec() },
			TaskSpec { rule: AggregationRule::MultiKrum { byzantine: 1, keep: 0 }, ..spec() },
		];
		for s in bad {
			assert_noop!(DecentralMl::create_task(origin(CREATOR), s), Err::InvalidSpec);
		}
	});
}

#[test]
fn create_task_refuses_an_escrow_the_creator_cannot_afford() {
	new_test_ext().execute_with(|| {
		let s = TaskSpec { reward_per_round: ENDOWMENT, ..spec() };
		assert_noop!(DecentralMl::create_task(origin(CREATOR), s), Err::InsufficientBalance);
	});
}

#[test]
fn join_task_records_the_member_and_counts_it() {
	new_test_ext().execute_with(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		register(11, Role::Contributor);
		assert_ok!(DecentralMl::join_task(origin(11), 0, Role::Contributor));
		has(E::TaskJoined { task_id: 0, who: acc(11), role: Role::Contributor });
		assert_eq!(Members::<Test>::get(0, acc(11)), Some(Roles { contributor: true, validator: false }));
		assert_eq!(task(0).num_contributors, 1);
		assert_eq!(Participants::<Test>::get(acc(11)).unwrap().contributor_tasks, 1);
	});
}

#[test]
fn join_task_refuses_unknown_tasks_unregistered_accounts_and_second_joins() {
	new_test_ext().execute_with(|| {
		assert_noop!(DecentralMl::join_task(origin(11), 0, Role::Contributor), Err::UnknownTask);
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		assert_noop!(DecentralMl::join_task(origin(11), 0, Role::Contributor), Err::NotRegistered);
		register(11, Role::Contributor);
		assert_noop!(DecentralMl::join_task(origin(11), 0, Role::Validator), Err::NotRegistered);
		assert_ok!(DecentralMl::join_task(origin(11), 0, Role::Contributor));
		assert_noop!(DecentralMl::join_task(origin(11), 0, Role::Contributor), Err::AlreadyJoined);
	});
}

#[test]
fn join_task_refuses_a_full_task() {
	new_test_ext().execute_with(|| {
		let id = task_with(spec(), &[11, 12, 13, 14], &[]);
		register(15, Role::Contributor);
		assert_noop!(DecentralMl::join_task(origin(15), id, Role::Contributor), Err::TaskFull);
	});
}

#[test]
fn join_task_refuses_an_ended_task() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		register(15, Role::Contributor);
		assert_noop!(DecentralMl::join_task(origin(15), id, Role::Contributor), Err::TaskNotActive);
	});
}

#[test]
fn cancel_task_refunds_the_whole_escrow_and_releases_members() {
	new_test_ext().execute_with(|| {
		let before = Balances::balance(&acc(CREATOR));
		let id = default_task();
		commit(11, id, 0);
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		has(E::TaskCancelled { task_id: id, paid: 0, refunded: 2 * REWARD + ED });
		assert_eq!(Balances::balance(&acc(CREATOR)), before);
		assert_eq!(escrow_balance(id), 0);
		assert_eq!(task(id).status, TaskStatus::Cancelled);
		assert_eq!(Members::<Test>::iter_prefix(id).count(), 0);
		assert_eq!(Participants::<Test>::get(acc(11)).unwrap().contributor_tasks, 0);
		assert_noop!(DecentralMl::commit_update(origin(12), id, 0, h(1)), Err::TaskNotActive);
	});
}

#[test]
fn cancel_task_is_for_the_creator_only() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		assert_noop!(DecentralMl::cancel_task(origin(11), id), Err::NotTaskCreator);
		assert_noop!(DecentralMl::cancel_task(origin(CREATOR), 9), Err::UnknownTask);
	});
}

#[test]
fn cancel_task_refuses_while_an_adopted_model_awaits_finalisation() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_aggregate_phase(id, 0);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("bafy-agg"), h(1)));
		assert_ok!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 9_100));
		assert_ok!(DecentralMl::attest_aggregate(origin(22), id, 0, h(1), 9_100));
		assert_noop!(DecentralMl::cancel_task(origin(CREATOR), id), Err::FinalizeAdoptedRoundFirst);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		has(E::TaskCancelled { task_id: id, paid: task(id).paid, refunded: REWARD + ED + (REWARD - task(id).paid) });
	});
}

// ---------------------------------------------------------------- commit / reveal

#[test]
fn commit_update_records_a_numbered_submission() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		commit(12, id, 0);
		has(E::UpdateCommitted { task_id: id, round: 0, submission: 0, who: acc(12) });
		commit(11, id, 0);
		has(E::UpdateCommitted { task_id: id, round: 0, submission: 1, who: acc(11) });
		assert_eq!(SubmissionCount::<Test>::get((id, 0)), 2);
		assert_eq!(CommitmentOf::<Test>::get((id, 0), acc(11)), Some(1));
		let s = Submissions::<Test>::get((id, 0), 0).unwrap();
		assert_eq!((s.contributor, s.status), (acc(12), SubmissionStatus::Committed));
		assert_eq!(task(id).phase, Phase::Commit);
	});
}

#[test]
fn commit_phase_closes_early_when_every_joined_contributor_committed() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		System::set_block_number(3);
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		has(E::PhaseChanged { task_id: id, round: 0, phase: Phase::Reveal, ends_at: 13 });
	});
}

#[test]
fn commit_update_refuses_non_members_and_validators() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		assert_noop!(DecentralMl::commit_update(origin(30), id, 0, h(1)), Err::NotMember);
		assert_noop!(DecentralMl::commit_update(origin(21), id, 0, h(1)), Err::NotContributor);
	});
}

#[test]
fn commit_update_refuses_a_second_commit() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		commit(11, id, 0);
		assert_noop!(DecentralMl::commit_update(origin(11), id, 0, h(2)), Err::AlreadyCommitted);
	});
}

#[test]
fn commit_update_refuses_after_the_commit_deadline() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		commit(11, id, 0);
		commit(12, id, 0);
		System::set_block_number(11);
		assert_noop!(DecentralMl::commit_update(origin(13), id, 0, h(1)), Err::CommitDeadlinePassed);
	});
}

#[test]
fn calls_refuse_a_round_other_than_the_current_one() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		assert_noop!(DecentralMl::commit_update(origin(11), id, 1, h(1)), Err::WrongRound);
		assert_noop!(DecentralMl::vote(origin(21), id, 1, verdicts(&[(0, true)])), Err::WrongRound);
		assert_noop!(DecentralMl::finalize_round(origin(21), id, 1), Err::WrongRound);
	});
}

#[test]
fn reveal_update_checks_the_commitment_and_records_the_update() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		reveal(12, id, 0, 300);
		has(E::UpdateRevealed {
			task_id: id,
			round: 0,
			submission: 1,
			who: acc(12),
			cid: cid("bafy-update"),
			update_hash: update_hash(12, 0),
			num_examples: 300,
		});
		let s = Submissions::<Test>::get((id, 0), 1).unwrap();
		assert_eq!(s.status, SubmissionStatus::Revealed);
		assert_eq!((s.update_hash, s.num_examples), (Some(update_hash(12, 0)), 300));
	});
}

#[test]
fn reveal_update_refuses_before_the_reveal_phase() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		commit(11, id, 0);
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("x"), update_hash(11, 0), 1, salt(11)),
			Err::WrongPhase
		);
	});
}

#[test]
fn reveal_update_refuses_a_mismatching_hash_salt_or_account() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("x"), h(0x55), 1, salt(11)),
			Err::CommitmentMismatch
		);
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("x"), update_hash(11, 0), 1, salt(12)),
			Err::CommitmentMismatch
		);
		// Copying another contributor's revealed hash and salt does not match one's own commitment.
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("x"), update_hash(12, 0), 1, salt(12)),
			Err::CommitmentMismatch
		);
	});
}

#[test]
fn reveal_update_refuses_without_commitment_twice_or_with_no_examples() {
	new_test_ext().execute_with(|| {
		let id = task_with(spec(), &[11, 12, 13, 14], &[21, 22]);
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		System::set_block_number(11);
		assert_noop!(
			DecentralMl::reveal_update(origin(14), id, 0, cid("x"), update_hash(14, 0), 1, salt(14)),
			Err::NoCommitment
		);
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("x"), update_hash(11, 0), 0, salt(11)),
			Err::NoExamples
		);
		reveal(11, id, 0, 5);
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("x"), update_hash(11, 0), 5, salt(11)),
			Err::AlreadyRevealed
		);
	});
}

// ---------------------------------------------------------------- votes

#[test]
fn vote_counts_every_verdict_of_the_batch() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_vote_phase(id, 0);
		assert_ok!(DecentralMl::vote(origin(21), id, 0, verdicts(&[(2, false), (0, true), (1, true)])));
		has(E::Voted { task_id: id, round: 0, validator: acc(21), verdicts: 3 });
		let s: Vec<_> = (0..3).map(|i| Submissions::<Test>::get((id, 0), i).unwrap()).collect();
		assert_eq!((s[0].accepts, s[0].rejects, s[2].accepts, s[2].rejects), (1, 0, 0, 1));
		assert_eq!(Votes::<Test>::get((id, 0), acc(21)).unwrap().len(), 3);
		assert_eq!(task(id).voters, 1);
	});
}

#[test]
fn vote_refuses_non_validators_and_second_votes() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_vote_phase(id, 0);
		assert_noop!(DecentralMl::vote(origin(11), id, 0, verdicts(&[(0, true)])), Err::NotValidator);
		assert_noop!(DecentralMl::vote(origin(30), id, 0, verdicts(&[(0, true)])), Err::NotValidator);
		assert_ok!(DecentralMl::vote(origin(21), id, 0, verdicts(&[(0, true)])));
		assert_noop!(DecentralMl::vote(origin(21), id, 0, verdicts(&[(1, true)])), Err::AlreadyVoted);
	});
}

#[test]
fn vote_refuses_unknown_duplicate_or_unrevealed_submissions_bad_scores_and_empty_batches() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		reveal(11, id, 0, 10);
		reveal(12, id, 0, 10);
		System::set_block_number(12); // reveal deadline (11) passed: 13 never revealed
		assert_noop!(DecentralMl::vote(origin(21), id, 0, verdicts(&[(3, true)])), Err::UnknownSubmission);
		assert_noop!(DecentralMl::vote(origin(21), id, 0, verdicts(&[(2, true)])), Err::NotRevealed);
		assert_noop!(
			DecentralMl::vote(origin(21), id, 0, verdicts(&[(0, true), (0, false)])),
			Err::DuplicateVerdict
		);
		let bad_score = vec![Verdict { submission: 0, accept: true, score: 10_001 }];
		assert_noop!(DecentralMl::vote(origin(21), id, 0, bad_score), Err::InvalidScore);
		assert_noop!(DecentralMl::vote(origin(21), id, 0, verdicts(&[])), Err::EmptyVote);
		let max: u32 = <Test as Config>::MaxVerdicts::get();
		let too_many: Vec<(u32, bool)> = (0..=max).map(|i| (i, true)).collect();
		assert_noop!(DecentralMl::vote(origin(21), id, 0, verdicts(&too_many)), Err::TooManyVerdicts);
	});
}

#[test]
fn vote_refuses_outside_the_vote_phase() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		commit(11, id, 0);
		assert_noop!(DecentralMl::vote(origin(21), id, 0, verdicts(&[(0, true)])), Err::WrongPhase);
	});
}

#[test]
fn vote_phase_closes_early_when_every_validator_voted() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_aggregate_phase(id, 0);
		has(E::PhaseChanged { task_id: id, round: 0, phase: Phase::Aggregate, ends_at: 11 });
	});
}

#[test]
fn phases_close_at_their_deadline_blocks_even_when_observed_late() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		commit(11, id, 0);
		commit(12, id, 0);
		// Commit closes at 11, reveal at 21; observed at block 15.
		System::set_block_number(15);
		reveal(11, id, 0, 10);
		has(E::PhaseChanged { task_id: id, round: 0, phase: Phase::Reveal, ends_at: 21 });
		reveal(12, id, 0, 10);
		has(E::PhaseChanged { task_id: id, round: 0, phase: Phase::Vote, ends_at: 25 });
	});
}

// ---------------------------------------------------------------- aggregation

#[test]
fn propose_aggregate_records_the_proposal() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_aggregate_phase(id, 0);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("bafy-agg"), h(1)));
		has(E::AggregateProposed { task_id: id, round: 0, proposer: acc(21), cid: cid("bafy-agg"), hash: h(1) });
		let p = Proposals::<Test>::get((id, 0));
		assert_eq!((p.len(), p[0].hash, p[0].attestations), (1, h(1), 0));
	});
}

#[test]
fn propose_aggregate_refuses_non_members_wrong_phase_duplicates_and_overflow() {
	new_test_ext().execute_with(|| {
		let id = task_with(spec(), &[11, 12, 13, 14], &[21, 22, 23, 24, 25, 26, 27, 28, 29]);
		assert_noop!(
			DecentralMl::propose_aggregate(origin(11), id, 0, cid("a"), h(1)),
			Err::WrongPhase
		);
		for c in [11, 12, 13, 14] {
			commit(c, id, 0);
		}
		for c in [11, 12, 13, 14] {
			reveal(c, id, 0, 10);
		}
		for v in 21..=29 {
			assert_ok!(DecentralMl::vote(origin(v), id, 0, verdicts(&[(0, true), (1, true)])));
		}
		assert_noop!(DecentralMl::propose_aggregate(origin(30), id, 0, cid("a"), h(1)), Err::NotMember);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("a"), h(1)));
		assert_noop!(
			DecentralMl::propose_aggregate(origin(12), id, 0, cid("a"), h(1)),
			Err::DuplicateProposal
		);
		assert_noop!(
			DecentralMl::propose_aggregate(origin(11), id, 0, cid("b"), h(2)),
			Err::AlreadyProposed
		);
		for (i, who) in [12u8, 13, 14, 21, 22, 23, 24].iter().enumerate() {
			assert_ok!(DecentralMl::propose_aggregate(origin(*who), id, 0, cid("a"), h(10 + i as u8)));
		}
		assert_noop!(
			DecentralMl::propose_aggregate(origin(25), id, 0, cid("a"), h(99)),
			Err::TooManyProposals
		);
	});
}

#[test]
fn attest_aggregate_adopts_the_first_hash_reaching_quorum() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_aggregate_phase(id, 0);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("good"), h(1)));
		assert_ok!(DecentralMl::propose_aggregate(origin(12), id, 0, cid("bad"), h(2)));
		assert_ok!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 9_000));
		has(E::AggregateAttested { task_id: id, round: 0, validator: acc(21), hash: h(1), score: 9_000 });
		assert_eq!(task(id).adopted, None);
		assert_ok!(DecentralMl::attest_aggregate(origin(22), id, 0, h(1), 9_200));
		has(E::ModelAdopted { task_id: id, round: 0, cid: cid("good"), hash: h(1), attestations: 2 });
		assert_eq!(task(id).adopted, Some(0));
		// Late attestations still count for the validator's reward; adoption does not change.
		assert_ok!(DecentralMl::attest_aggregate(origin(23), id, 0, h(2), 1_000));
		assert_eq!(task(id).adopted, Some(0));
	});
}

#[test]
fn attest_aggregate_refuses_non_validators_unknown_hashes_second_attestations_and_bad_scores() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_aggregate_phase(id, 0);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("good"), h(1)));
		assert_noop!(DecentralMl::attest_aggregate(origin(11), id, 0, h(1), 1), Err::NotValidator);
		assert_noop!(DecentralMl::attest_aggregate(origin(21), id, 0, h(9), 1), Err::UnknownProposal);
		assert_noop!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 10_001), Err::InvalidScore);
		assert_ok!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 1));
		assert_noop!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 1), Err::AlreadyAttested);
	});
}

#[test]
fn aggregation_closes_at_its_deadline_without_adoption() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_aggregate_phase(id, 0);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("good"), h(1)));
		System::set_block_number(11);
		assert_noop!(
			DecentralMl::propose_aggregate(origin(12), id, 0, cid("x"), h(2)),
			Err::AggregationClosed
		);
		assert_noop!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 1), Err::AggregationClosed);
	});
}

// ---------------------------------------------------------------- finalisation

#[test]
fn finalize_round_refuses_before_a_model_is_adopted_or_the_deadline_passed() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		assert_noop!(DecentralMl::finalize_round(origin(30), id, 0), Err::RoundNotFinished);
		to_aggregate_phase(id, 0);
		assert_noop!(DecentralMl::finalize_round(origin(30), id, 0), Err::RoundNotFinished);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("good"), h(1)));
		assert_ok!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 9_000));
		assert_noop!(DecentralMl::finalize_round(origin(30), id, 0), Err::RoundNotFinished);
	});
}

#[test]
fn finalize_round_pays_accepted_contributors_by_capped_examples_and_agreeing_validators_equally() {
	new_test_ext().execute_with(|| {
		let spec = TaskSpec { max_examples: 200, ..spec() };
		let id = task_with(spec, &[11, 12, 13], &[21, 22, 23]);
		let before: Vec<Balance> = [11, 12, 13, 21, 22, 23].iter().map(|n| Balances::balance(&acc(*n))).collect();
		to_aggregate_phase(id, 0); // examples: 100, 300 (capped to 200), 50 (rejected)
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("m1"), h(1)));
		for v in [21, 22, 23] {
			assert_ok!(DecentralMl::attest_aggregate(origin(v), id, 0, h(1), 9_000 + v as u32));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// Contributors share 80 % = 8_000 in the ratio 100:200; validators share 2_000 three ways.
		let paid = |i: usize, n: u8| Balances::balance(&acc(n)) - before[i];
		assert_eq!((paid(0, 11), paid(1, 12), paid(2, 13)), (2_666, 5_333, 0));
		assert_eq!((paid(3, 21), paid(4, 22), paid(5, 23)), (666, 666, 666));
		has(E::RewardPaid { task_id: id, round: 0, who: acc(12), amount: 5_333 });
		has(E::RoundFinalized {
			task_id: id,
			round: 0,
			accepted: 2,
			rejected: 1,
			attested_score: 9_022,
			contributor_rewards: 7_999,
			validator_rewards: 1_998,
		});
		let summary = RoundSummaries::<Test>::get((id, 0)).unwrap();
		assert_eq!((summary.model_hash, summary.accepted, summary.void), (h(1), 2, 0));
		// Dust stays in escrow.
		let t = task(id);
		assert_eq!(t.escrow, 2 * REWARD - 7_999 - 1_998);
		assert_eq!(escrow_balance(id), t.escrow + ED);
		// The next round starts from the adopted model.
		assert_eq!((t.round, t.phase, t.model_hash, t.model_cid), (1, Phase::Commit, h(1), cid("m1")));
		let statuses: Vec<_> =
			(0..3).map(|i| Submissions::<Test>::get((id, 0), i).unwrap().status).collect();
		assert_eq!(
			statuses,
			vec![SubmissionStatus::Accepted, SubmissionStatus::Accepted, SubmissionStatus::Rejected]
		);
	});
}

#[test]
fn reputation_rises_for_agreement_and_falls_for_rejection() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_vote_phase(id, 0);
		assert_ok!(DecentralMl::vote(origin(21), id, 0, verdicts(&[(0, true), (1, true), (2, false)])));
		assert_ok!(DecentralMl::vote(origin(22), id, 0, verdicts(&[(0, true), (1, true), (2, false)])));
		// 23 disagrees on submission 2.
		assert_ok!(DecentralMl::vote(origin(23), id, 0, verdicts(&[(0, true), (1, true), (2, true)])));
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("m1"), h(1)));
		for v in [21, 22, 23] {
			assert_ok!(DecentralMl::attest_aggregate(origin(v), id, 0, h(1), 9_000));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let rep = |n: u8| Participants::<Test>::get(acc(n)).unwrap().reputation;
		assert_eq!((rep(11), rep(12), rep(13)), (501, 501, 499));
		assert_eq!((rep(21), rep(22), rep(23)), (501, 501, 499));
	});
}

#[test]
fn the_proposer_of_a_losing_aggregate_is_penalised_into_the_escrow() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		let issuance = Balances::total_issuance();
		to_aggregate_phase(id, 0);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("good"), h(1)));
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("bad"), h(2)));
		assert_ok!(DecentralMl::attest_aggregate(origin(22), id, 0, h(1), 9_000));
		assert_ok!(DecentralMl::attest_aggregate(origin(23), id, 0, h(1), 9_000));
		let escrow_before = task(id).escrow;
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		has(E::ProposerPenalised { task_id: id, round: 0, who: acc(21), amount: PENALTY });
		assert_eq!(stake_held(21), MIN_VALIDATOR_STAKE - PENALTY);
		assert_eq!(
			Participants::<Test>::get(acc(21)).unwrap().validator_stake,
			Some(MIN_VALIDATOR_STAKE - PENALTY)
		);
		let s = RoundSummaries::<Test>::get((id, 0)).unwrap();
		let t = task(id);
		assert_eq!(
			t.escrow,
			escrow_before - s.contributor_rewards - s.validator_rewards + PENALTY
		);
		assert_eq!(escrow_balance(id), t.escrow + ED);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn a_round_with_too_few_accepted_updates_fails_keeps_the_model_and_is_retried() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		to_vote_phase(id, 0);
		for v in [21, 22, 23] {
			assert_ok!(DecentralMl::vote(origin(v), id, 0, verdicts(&[(0, true), (1, false), (2, false)])));
		}
		let escrow = task(id).escrow;
		// One accepted update < min_contributors: finalisable at once.
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		has(E::RoundFailed { task_id: id, round: 0, retries: 1 });
		let t = task(id);
		assert_eq!((t.round, t.phase, t.retries, t.escrow, t.model_hash), (0, Phase::Commit, 1, escrow, h(0xAA)));
		assert_eq!(SubmissionCount::<Test>::get((id, 0)), 0);
		assert_eq!(Votes::<Test>::iter_prefix((id, 0)).count(), 0);
		// The retry runs normally.
		to_aggregate_phase(id, 0);
	});
}

#[test]
fn a_round_without_adoption_fails_at_the_aggregation_deadline_and_the_task_ends_after_max_retries() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		let creator_before = Balances::balance(&acc(CREATOR));
		to_aggregate_phase(id, 0);
		System::set_block_number(11);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		has(E::RoundFailed { task_id: id, round: 0, retries: 1 });
		// Second attempt: nobody commits; the commit deadline dooms it.
		System::set_block_number(21);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		has(E::RoundFailed { task_id: id, round: 0, retries: 2 });
		has(E::TaskFinished { task_id: id, model_cid: cid("bafy-model-0"), model_hash: h(0xAA), refunded: 2 * REWARD + ED });
		assert_eq!(task(id).status, TaskStatus::Finished);
		assert_eq!(Balances::balance(&acc(CREATOR)), creator_before + 2 * REWARD + ED);
		assert_eq!(escrow_balance(id), 0);
	});
}

#[test]
fn unrevealed_commitments_are_void_and_cost_reputation() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		reveal(11, id, 0, 10);
		reveal(12, id, 0, 10);
		System::set_block_number(12);
		for v in [21, 22, 23] {
			assert_ok!(DecentralMl::vote(origin(v), id, 0, verdicts(&[(0, true), (1, true)])));
		}
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("m1"), h(1)));
		assert_ok!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 9_000));
		assert_ok!(DecentralMl::attest_aggregate(origin(22), id, 0, h(1), 9_000));
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!(Submissions::<Test>::get((id, 0), 2).unwrap().status, SubmissionStatus::Void);
		assert_eq!(RoundSummaries::<Test>::get((id, 0)).unwrap().void, 1);
		assert_eq!(Participants::<Test>::get(acc(13)).unwrap().reputation, 499);
	});
}

// ---------------------------------------------------------------- whole tasks

#[test]
fn full_task_honest_contributors_a_rejected_contributor_and_a_silent_validator() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let creator_before = Balances::balance(&acc(CREATOR));
		let id = default_task();
		let mut model = h(0xAA);
		let mut total_paid = 0;
		for round in 0..2u32 {
			let start = System::block_number();
			to_vote_phase(id, round);
			// 23 stays silent: the vote phase runs to its deadline.
			for v in [21, 22] {
				assert_ok!(DecentralMl::vote(origin(v), id, round, verdicts(&[(0, true), (1, true), (2, false)])));
			}
			assert_eq!(task(id).phase, Phase::Vote);
			System::set_block_number(task(id).phase_ends_at as u64);
			let new_model = h(round as u8 + 1);
			assert_ok!(DecentralMl::propose_aggregate(origin(12), id, round, cid("next"), new_model));
			assert_eq!(task(id).phase, Phase::Aggregate);
			assert_ok!(DecentralMl::attest_aggregate(origin(21), id, round, new_model, 9_000));
			assert_ok!(DecentralMl::attest_aggregate(origin(22), id, round, new_model, 9_400));
			assert_ok!(DecentralMl::finalize_round(origin(13), id, round));
			let s = RoundSummaries::<Test>::get((id, round)).unwrap();
			assert_eq!((s.accepted, s.rejected, s.void, s.attested_score), (2, 1, 0, 9_200));
			// 8_000 to contributors 100:300, 2_000 to the two agreeing validators.
			assert_eq!((s.contributor_rewards, s.validator_rewards), (8_000, 2_000));
			total_paid += s.contributor_rewards + s.validator_rewards;
			model = new_model;
			assert!(System::block_number() >= start);
			System::set_block_number(System::block_number() + 1);
		}
		has(E::TaskFinished { task_id: id, model_cid: cid("next"), model_hash: model, refunded: ED });
		let t = task(id);
		assert_eq!((t.status, t.model_hash, t.paid, t.escrow), (TaskStatus::Finished, model, total_paid, 0));
		assert_eq!(Balances::balance(&acc(CREATOR)), creator_before - total_paid);
		let rep = |n: u8| Participants::<Test>::get(acc(n)).unwrap().reputation;
		assert_eq!((rep(11), rep(12), rep(13), rep(21), rep(22), rep(23)), (502, 502, 498, 502, 502, 500));
		// Members are released: everybody may deregister.
		for n in [11, 12, 13] {
			assert_ok!(DecentralMl::deregister(origin(n), Role::Contributor));
		}
		assert_ok!(DecentralMl::deregister(origin(23), Role::Validator));
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn a_cancelled_task_pays_finalised_rounds_and_refunds_the_rest() {
	new_test_ext().execute_with(|| {
		let creator_before = Balances::balance(&acc(CREATOR));
		let id = task_with(TaskSpec { rounds: 3, ..spec() }, &[11, 12, 13], &[21, 22, 23]);
		to_aggregate_phase(id, 0);
		assert_ok!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("m1"), h(1)));
		assert_ok!(DecentralMl::attest_aggregate(origin(21), id, 0, h(1), 9_000));
		assert_ok!(DecentralMl::attest_aggregate(origin(22), id, 0, h(1), 9_000));
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let paid = task(id).paid;
		// Round 1 is under way when the creator cancels: its work is not paid.
		to_vote_phase(id, 1);
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		has(E::TaskCancelled { task_id: id, paid, refunded: 3 * REWARD - paid + ED });
		assert_eq!(Balances::balance(&acc(CREATOR)), creator_before - paid);
		assert_eq!(escrow_balance(id), 0);
		assert!(no(E::RoundFinalized {
			task_id: id,
			round: 1,
			accepted: 2,
			rejected: 1,
			attested_score: 9_000,
			contributor_rewards: 7_999,
			validator_rewards: 1_998
		}));
	});
}

// ---------------------------------------------------------------- invariants

/// xorshift64*: a tiny deterministic PRNG.
struct Rng(u64);
impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 >> 12;
		self.0 ^= self.0 << 25;
		self.0 ^= self.0 >> 27;
		self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
	}
	fn below(&mut self, n: u64) -> u64 {
		self.next() % n.max(1)
	}
	fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
		xs[self.below(xs.len() as u64) as usize]
	}
}

fn check_invariants(issuance: Balance) {
	assert_eq!(Balances::total_issuance(), issuance, "total issuance changed");
	for id in 0..NextTaskId::<Test>::get() {
		let t = task(id);
		let on_account = escrow_balance(id);
		match t.status {
			TaskStatus::Active => {
				assert_eq!(on_account, t.escrow + ED, "escrow of task {id} unaccounted");
				let remaining = (t.spec.rounds - t.round) as Balance * t.spec.reward_per_round;
				assert!(t.escrow >= remaining, "task {id} cannot pay its remaining rounds");
			},
			_ => assert_eq!((on_account, t.escrow), (0, 0), "ended task {id} kept escrow"),
		}
	}
	for (who, p) in Participants::<Test>::iter() {
		let staked = p.contributor_stake.unwrap_or(0) + p.validator_stake.unwrap_or(0);
		assert_eq!(Balances::balance_on_hold(&HoldReason::Stake.into(), &who), staked);
		assert!(p.reputation <= MAX_REPUTATION);
	}
}

fn random_spec(rng: &mut Rng) -> TaskSpec<Balance> {
	TaskSpec {
		rounds: 1 + rng.below(3) as u32,
		min_contributors: 1 + rng.below(2) as u32,
		max_contributors: 2 + rng.below(4) as u32,
		min_validators: 1 + rng.below(2) as u32,
		reward_per_round: 1_000 + rng.below(5_000) as Balance,
		validator_share: Permill::from_percent(rng.below(101) as u32),
		quorum: Permill::from_percent(1 + rng.below(100) as u32),
		commit_blocks: 1 + rng.below(8) as u32,
		reveal_blocks: 1 + rng.below(8) as u32,
		vote_blocks: 1 + rng.below(8) as u32,
		attest_blocks: 1 + rng.below(8) as u32,
		max_retries: rng.below(3) as u32,
		max_examples: 1 + rng.below(500),
		..spec()
	}
}

/// One random step: mostly the call the task's phase expects, by a plausible caller, sometimes
/// anything by anybody (refusals must leave the state untouched; `assert_noop` semantics are
/// checked by the invariants after each step).
fn random_step(rng: &mut Rng) {
	let people: Vec<u8> = (2..=13).collect();
	let roles = [Role::Contributor, Role::Validator];
	let active: Vec<TaskId> = (0..NextTaskId::<Test>::get())
		.filter(|id| task(*id).status == TaskStatus::Active)
		.collect();
	let id = if active.is_empty() || rng.below(20) == 0 {
		rng.below(NextTaskId::<Test>::get() as u64 + 1) as TaskId
	} else {
		rng.pick(&active)
	};
	let members: Vec<(u8, Roles)> = Members::<Test>::iter_prefix(id)
		.map(|(who, r)| (AsRef::<[u8; 32]>::as_ref(&who)[0], r))
		.collect();
	let contributors: Vec<u8> = members.iter().filter(|(_, r)| r.contributor).map(|(w, _)| *w).collect();
	let validators: Vec<u8> = members.iter().filter(|(_, r)| r.validator).map(|(w, _)| *w).collect();
	let any = rng.pick(&people);
	let contributor = if contributors.is_empty() || rng.below(10) == 0 { any } else { rng.pick(&contributors) };
	let validator = if validators.is_empty() || rng.below(10) == 0 { any } else { rng.pick(&validators) };
	let t = Tasks::<Test>::get(id);
	let round = t.as_ref().map(|t| t.round).unwrap_or(0) + if rng.below(20) == 0 { 1 } else { 0 };
	let phase = t.as_ref().map(|t| t.phase).unwrap_or(Phase::Commit);
	let action = match (rng.below(10), phase) {
		(0, _) => rng.below(13),
		(1..=2, Phase::Commit) => 3, // join
		(_, Phase::Commit) => 6,
		(_, Phase::Reveal) => 7,
		(_, Phase::Vote) => 8,
		(1..=3, Phase::Aggregate) => 9,
		(4..=7, Phase::Aggregate) => 10,
		(_, Phase::Aggregate) => 11,
	};
	let _ = match action {
		0 => DecentralMl::register(origin(any), rng.pick(&roles), 100 + rng.below(300) as Balance, [any; 32]),
		1 => DecentralMl::deregister(origin(any), rng.pick(&roles)),
		2 if active.len() < 3 => DecentralMl::create_task(origin(any), random_spec(rng)),
		3 | 4 => {
			let role = rng.pick(&roles);
			let stake = if role == Role::Contributor { MIN_CONTRIBUTOR_STAKE } else { MIN_VALIDATOR_STAKE };
			let _ = DecentralMl::register(origin(any), role, stake, [any; 32]);
			DecentralMl::join_task(origin(any), id, role)
		},
		5 if rng.below(4) == 0 => DecentralMl::cancel_task(origin(if rng.below(2) == 0 { CREATOR } else { any }), id)
			.map(|_| ())
			.map_err(|e| e.error),
		6 => {
			let c = DecentralMl::commitment(&update_hash(contributor, round), &salt(contributor), &acc(contributor));
			DecentralMl::commit_update(origin(contributor), id, round, c)
		},
		7 => DecentralMl::reveal_update(
			origin(contributor),
			id,
			round,
			cid("u"),
			update_hash(contributor, round),
			rng.below(400),
			if rng.below(8) == 0 { salt(contributor ^ 1) } else { salt(contributor) },
		),
		8 => {
			let n = SubmissionCount::<Test>::get((id, round)).max(1);
			let mut v: Vec<Verdict> = Vec::new();
			for s in 0..n {
				if rng.below(6) != 0 {
					let accept = rng.below(4) != 0;
					v.push(Verdict { submission: s, accept, score: rng.below(10_001) as u32 });
				}
			}
			DecentralMl::vote(origin(validator), id, round, v)
		},
		9 => DecentralMl::propose_aggregate(
			origin(if rng.below(2) == 0 { contributor } else { validator }),
			id,
			round,
			cid("agg"),
			h(1 + rng.below(3) as u8),
		),
		10 => DecentralMl::attest_aggregate(origin(validator), id, round, h(1 + rng.below(2) as u8), rng.below(10_001) as u32),
		11 => DecentralMl::finalize_round(origin(any), id, round).map(|_| ()).map_err(|e| e.error),
		_ => {
			System::set_block_number(System::block_number() + 1 + rng.below(3));
			Ok(())
		},
	};
}

#[test]
fn issuance_and_escrow_accounting_are_conserved_over_random_call_sequences() {
	let mut seen = std::collections::BTreeMap::<String, u32>::new();
	for seed in 1..=16u64 {
		new_test_ext().execute_with(|| {
			let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
			let issuance = Balances::total_issuance();
			for _ in 0..500 {
				random_step(&mut rng);
				check_invariants(issuance);
			}
			for r in System::events() {
				if let RuntimeEvent::DecentralMl(e) = r.event {
					let debug = format!("{e:?}");
					let name = debug.trim_start_matches("Event::").split([' ', '{', '(']).next().unwrap_or_default().to_string();
					*seen.entry(name).or_default() += 1;
				}
			}
		});
	}
	println!("events over all seeds: {seen:?}");
	// The sequences reach every outcome the invariants are about.
	for name in ["RoundFinalized", "RoundFailed", "RewardPaid", "TaskFinished", "TaskCancelled", "ProposerPenalised"] {
		assert!(seen.get(name).copied().unwrap_or(0) > 0, "no {name} in the random runs: {seen:?}");
	}
}

#[test]
fn the_escrow_account_is_the_pallet_id_sub_account_of_the_task_id() {
	let mut expected = [0u8; 32];
	expected[..4].copy_from_slice(b"modl");
	expected[4..12].copy_from_slice(b"dml/escr");
	expected[12..16].copy_from_slice(&7u32.to_le_bytes());
	assert_eq!(DecentralMl::escrow_account(7), AccountId::new(expected));
}

#[test]
fn the_commitment_is_blake2_256_of_hash_salt_and_account() {
	let mut data = Vec::new();
	data.extend_from_slice(h(1).as_bytes());
	data.extend_from_slice(&salt(2));
	data.extend_from_slice(&[3u8; 32]);
	assert_eq!(DecentralMl::commitment(&h(1), &salt(2), &acc(3)), H256(sp_io::hashing::blake2_256(&data)));
}

/// Execution time of the worst cases without database cost (in-memory storage), to check the
/// execution part of the derived weights. A benchmark, not part of the test suite: it is
/// compiled only with the `dml_timing` cfg, in release:
/// `RUSTFLAGS="--cfg dml_timing" cargo test --release -p pallet-decentralml -- --nocapture execution_time`.
#[cfg(dml_timing)]
#[test]
fn execution_time_of_the_worst_cases_fits_the_derived_weights() {
	use frame_support::traits::fungible::Mutate;
	use std::time::Instant;
	fn big(i: u32) -> AccountId {
		let mut b = [0xEE; 32];
		b[..4].copy_from_slice(&i.to_le_bytes());
		AccountId::new(b)
	}
	new_test_ext().execute_with(|| {
		let (c, v) = (256u32, 32u32);
		let spec = TaskSpec { rounds: 1, max_contributors: c, min_validators: 1, ..spec() };
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec));
		let contributors: Vec<AccountId> = (0..c).map(big).collect();
		let validators: Vec<AccountId> = (c..c + v).map(big).collect();
		for (who, role, stake) in contributors
			.iter()
			.map(|w| (w, Role::Contributor, MIN_CONTRIBUTOR_STAKE))
			.chain(validators.iter().map(|w| (w, Role::Validator, MIN_VALIDATOR_STAKE)))
		{
			Balances::set_balance(who, ENDOWMENT);
			let o = RuntimeOrigin::signed(who.clone());
			assert_ok!(DecentralMl::register(o.clone(), role, stake, [0; 32]));
			assert_ok!(DecentralMl::join_task(o, 0, role));
		}
		let time = |f: &mut dyn FnMut()| {
			let start = Instant::now();
			f();
			start.elapsed().as_secs_f64() * 1e6
		};
		let mut commit_us = 0.0;
		for (i, who) in contributors.iter().enumerate() {
			let c = DecentralMl::commitment(&H256::repeat_byte(i as u8), &[1; 32], who);
			commit_us += time(&mut || { assert_ok!(DecentralMl::commit_update(RuntimeOrigin::signed(who.clone()), 0, 0, c)); });
		}
		for (i, who) in contributors.iter().enumerate() {
			assert_ok!(DecentralMl::reveal_update(
				RuntimeOrigin::signed(who.clone()),
				0,
				0,
				cid("u"),
				H256::repeat_byte(i as u8),
				100,
				[1; 32]
			));
		}
		let all: Vec<Verdict> = (0..c).map(|i| Verdict { submission: i, accept: true, score: 1 }).collect();
		let mut vote_us = 0.0f64;
		for who in validators.iter() {
			let verdicts = all.clone();
			vote_us = vote_us.max(time(&mut || { assert_ok!(DecentralMl::vote(RuntimeOrigin::signed(who.clone()), 0, 0, verdicts.clone())); }));
		}
		assert_ok!(DecentralMl::propose_aggregate(RuntimeOrigin::signed(contributors[0].clone()), 0, 0, cid("a"), h(1)));
		for who in validators.iter() {
			assert_ok!(DecentralMl::attest_aggregate(RuntimeOrigin::signed(who.clone()), 0, 0, h(1), 1));
		}
		let finalize_us = time(&mut || { assert_ok!(DecentralMl::finalize_round(origin(30), 0, 0)); });
		assert_eq!(task(0).status, TaskStatus::Finished);
		let weight_us = |w: frame_support::weights::Weight| w.ref_time() as f64 / 1e6;
		let rows = [
			("commit_update (mean)", commit_us / c as f64, weight_us(<() as crate::weights::WeightInfo>::commit_update())),
			("vote(256) (max)", vote_us, weight_us(<() as crate::weights::WeightInfo>::vote(256))),
			(
				"finalize_round(256, 32, 1, 288)",
				finalize_us,
				weight_us(<() as crate::weights::WeightInfo>::finalize_round(256, 32, 1, 288)),
			),
		];
		for (name, measured, weight) in rows {
			println!("{name}: {measured:.1} µs measured natively (in-memory storage), weight {weight:.1} µs");
			assert!(measured < weight, "{name} took {measured} µs, more than its weight {weight} µs");
		}
	});
}
