//! Each slash and who may propose or attest.

use super::*;
use frame_support::{traits::Hooks, weights::Weight};

#[test]
fn silence_slashes_the_bond_into_the_escrow() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		attest(21, id, 0, h(1));
		attest(22, id, 0, h(1));
		expire(id);
		let escrow_before = task(id).escrow;
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		has(E::Slashed { task_id: id, round: 0, who: acc(23), reason: SlashReason::Silence, amount: 100 });
		assert_eq!((bond_held(23), bond_of(id, 23)), (900, 900));
		let paid: Balance = payments().iter().map(|(_, a)| a).sum();
		assert_eq!(task(id).escrow, escrow_before + 100 - paid);
		assert_eq!((task(id).slashed, RoundSummaries::<Test>::get((id, 0)).unwrap().slashed), (100, 100));
		assert_eq!(Participants::<Test>::get(acc(23)).unwrap().reputation, INITIAL_REPUTATION - 1);
	});
}

#[test]
fn a_contributor_that_commits_and_does_not_reveal_is_slashed() {
	build_and_execute(|| {
		let id = default_task();
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		reveal(11, id, 0);
		reveal(12, id, 0);
		expire(id);
		assert_eq!(task(id).phase, Phase::VoteCommit);
		let ballot = v(&[(true, 3_000), (true, 2_000)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!(slashes(), vec![(13, SlashReason::Unrevealed, C_BOND / 10)]);
		assert_eq!(Submissions::<Test>::get((id, 0), 2).unwrap().status, SubmissionStatus::Void);
	});
}

#[test]
fn losing_verdicts_are_slashed_by_the_fraction_that_lost() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		let dissent = v(&[(true, 3_000), (true, 2_000), (true, 0)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot), (23, dissent)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// 1 000 × 1 wrong of 3 × 5 % = 16.67 → 16.
		assert_eq!(slashes(), vec![(23, SlashReason::LosingVerdicts, 16)]);
		assert_eq!(Submissions::<Test>::get((id, 0), 2).unwrap().status, SubmissionStatus::Rejected);
	});
}

#[test]
fn racing_to_propose_junk_by_attesting_first_loses_and_is_slashed() {
	build_and_execute(|| {
		let id = default_task();
		default_round_until_aggregate(id);
		// 23 attests a junk hash before anyone: its attestation makes the first proposal.
		attest(23, id, 0, h(2));
		// The honest members attest the honest aggregate in the same block; it is proposed by
		// the first of them, reaches the quorum and is adopted.
		attest(21, id, 0, h(1));
		attest(22, id, 0, h(1));
		has(E::ModelAdopted { task_id: id, round: 0, cid: cid("agg"), hash: h(1), attestations: 2, attest_stake: 2_000 });
		// Everyone attested: the block's idle time finalises the round.
		DecentralMl::on_idle(System::block_number(), Weight::MAX);
		assert_eq!((task(id).round, task(id).model_hash), (1, h(1)));
		assert_eq!(slashes(), vec![(23, SlashReason::LosingAggregate, 50)]);
		assert_eq!((paid_to(21) > 0, paid_to(23)), (true, 0));
	});
}

#[test]
fn proposing_or_attesting_a_losing_aggregate_is_slashed() {
	build_and_execute(|| {
		let id = task_with(
			spec(),
			&[11, 12, 13],
			&[(21, V_BOND), (22, V_BOND), (23, V_BOND), (24, V_BOND)],
		);
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot.clone()), (24, ballot)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		assert_ok!(DecentralMl::propose_aggregate(origin(23), id, 0, cid("bad"), h(2)));
		assert_noop!(
			DecentralMl::propose_aggregate(origin(22), id, 0, cid("agg"), h(1)),
			Err::DuplicateProposal
		);
		assert_noop!(
			DecentralMl::attest_aggregate(origin(24), id, 0, cid("other"), h(2), 1),
			Err::ProposalMismatch
		);
		assert_ok!(DecentralMl::attest_aggregate(origin(24), id, 0, cid("bad"), h(2), 1));
		attest(21, id, 0, h(1));
		attest(22, id, 0, h(1));
		has(E::ModelAdopted { task_id: id, round: 0, cid: cid("agg"), hash: h(1), attestations: 2, attest_stake: 2_000 });
		attest(23, id, 0, h(1));
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// 23 proposed the loser (and then attested the winner), 24 attested the loser: 5 % each.
		assert_eq!(
			slashes(),
			vec![(23, SlashReason::LosingAggregate, 50), (24, SlashReason::LosingAggregate, 50)]
		);
		assert_eq!(paid_to(24), 0);
	});
}

#[test]
fn only_the_rounds_electorate_may_propose_or_attest() {
	build_and_execute(|| {
		let id = default_task();
		default_round_until_aggregate(id);
		assert_noop!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("agg"), h(1)), Err::NotInElectorate);
		assert_noop!(DecentralMl::propose_aggregate(origin(40), id, 0, cid("agg"), h(1)), Err::NotInElectorate);
		assert_ok!(DecentralMl::propose_aggregate(origin(22), id, 0, cid("agg"), h(1)));
		assert_noop!(DecentralMl::propose_aggregate(origin(22), id, 0, cid("agg"), h(2)), Err::AlreadyProposed);
		assert_noop!(DecentralMl::attest_aggregate(origin(11), id, 0, cid("agg"), h(1), 1), Err::NotInElectorate);
		attest(21, id, 0, h(1));
		assert_noop!(DecentralMl::attest_aggregate(origin(21), id, 0, cid("agg"), h(1), 1), Err::AlreadyAttested);
	});
}
