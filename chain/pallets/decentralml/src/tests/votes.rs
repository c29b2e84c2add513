//! Sealed votes: commit, reveal, completeness, silence.

use super::*;

#[test]
fn a_vote_is_committed_then_revealed_and_adds_its_bond_to_the_stakes() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (false, 100), (true, 2_000)]);
		commit_vote(21, id, 0, &ballot);
		has(E::VoteCommitted { task_id: id, round: 0, validator: acc(21) });
		assert_noop!(DecentralMl::commit_vote(origin(21), id, 0, h(1)), Err::AlreadyVoted);
		assert_noop!(DecentralMl::commit_vote(origin(11), id, 0, h(1)), Err::NotInElectorate);
		assert!(Votes::<Test>::get((id, 0), acc(21)).is_none());
		commit_vote(22, id, 0, &ballot);
		commit_vote(23, id, 0, &ballot);
		assert_eq!(task(id).phase, Phase::VoteReveal);
		reveal_vote(21, id, 0, &ballot);
		has(E::VoteRevealed { task_id: id, round: 0, validator: acc(21), verdicts: 3 });
		assert_noop!(DecentralMl::reveal_vote(origin(21), id, 0, ballot.clone(), salt(21)), Err::AlreadyRevealed);
		let s1 = Submissions::<Test>::get((id, 0), 1).unwrap();
		assert_eq!((s1.accept_stake, s1.reject_stake), (0, V_BOND));
		assert_eq!(Votes::<Test>::get((id, 0), acc(21)).unwrap().into_inner(), ballot);
	});
}

#[test]
fn votes_are_sealed_until_the_commit_window_closes() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		commit_vote(21, id, 0, &ballot);
		assert_noop!(DecentralMl::reveal_vote(origin(21), id, 0, ballot.clone(), salt(21)), Err::VotesSealed);
		expire(id);
		reveal_vote(21, id, 0, &ballot);
		expire(id);
		assert_eq!(task(id).phase, Phase::Aggregate);
		assert_noop!(DecentralMl::reveal_vote(origin(21), id, 0, ballot, salt(21)), Err::WrongPhase);
	});
}

#[test]
fn a_reveal_that_does_not_match_the_vote_commitment_is_refused() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		commit_vote(21, id, 0, &ballot);
		expire(id);
		let changed = v(&[(true, 3_000), (true, 2_000), (true, 0)]);
		assert_noop!(DecentralMl::reveal_vote(origin(21), id, 0, changed, salt(21)), Err::VoteMismatch);
		assert_noop!(DecentralMl::reveal_vote(origin(21), id, 0, ballot.clone(), salt(22)), Err::VoteMismatch);
		assert_noop!(DecentralMl::reveal_vote(origin(22), id, 0, ballot, salt(22)), Err::NoVoteCommitment);
	});
}

#[test]
fn not_in_electorate_is_returned_before_no_vote_commitment() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		// 24 joins during the round: a validator of the task, but not of this round's electorate.
		join(24, id, Role::Validator, V_BOND);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		commit_vote(21, id, 0, &ballot);
		commit_vote(22, id, 0, &ballot);
		expire(id);
		assert_eq!(task(id).phase, Phase::VoteReveal);
		// None of these has a vote commitment either; being outside the electorate comes first.
		for outsider in [11, 24, 40] {
			assert_noop!(
				DecentralMl::reveal_vote(origin(outsider), id, 0, ballot.clone(), salt(outsider)),
				Err::NotInElectorate
			);
		}
		assert_noop!(DecentralMl::reveal_vote(origin(23), id, 0, ballot.clone(), salt(23)), Err::NoVoteCommitment);
		reveal_vote(21, id, 0, &ballot);
	});
}

#[test]
fn an_incomplete_vote_is_refused() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let partial = v(&[(true, 3_000), (true, 2_000)]);
		let unsorted = vec![
			Verdict { submission: 1, accept: true, score: 1, probe: PROBE },
			Verdict { submission: 0, accept: true, score: 1, probe: PROBE },
			Verdict { submission: 2, accept: true, score: 1, probe: PROBE },
		];
		let bad_score = v(&[(true, 3_000), (true, 10_001), (false, 0)]);
		commit_vote(21, id, 0, &partial);
		commit_vote(22, id, 0, &unsorted);
		commit_vote(23, id, 0, &bad_score);
		assert_noop!(DecentralMl::reveal_vote(origin(21), id, 0, partial, salt(21)), Err::IncompleteVote);
		assert_noop!(DecentralMl::reveal_vote(origin(22), id, 0, unsorted, salt(22)), Err::IncompleteVote);
		assert_noop!(DecentralMl::reveal_vote(origin(23), id, 0, bad_score, salt(23)), Err::InvalidScore);
	});
}

#[test]
fn an_unrevealed_vote_commitment_counts_as_silence() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		for w in [21, 22, 23] {
			commit_vote(w, id, 0, &ballot);
		}
		reveal_vote(21, id, 0, &ballot);
		reveal_vote(22, id, 0, &ballot);
		expire(id);
		assert_eq!(task(id).phase, Phase::Aggregate);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!(slashes(), vec![(23, SlashReason::Silence, V_BOND / 10)]);
		assert_eq!(paid_to(23), 0);
	});
}
