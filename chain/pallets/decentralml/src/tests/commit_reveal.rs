//! Commitments and reveals of updates.

use super::*;

#[test]
fn commit_and_reveal_record_a_numbered_submission() {
	build_and_execute(|| {
		let id = default_task();
		assert_noop!(DecentralMl::commit_update(origin(21), id, 0, h(1)), Err::NotContributor);
		assert_noop!(DecentralMl::commit_update(origin(40), id, 0, h(1)), Err::NotMember);
		assert_noop!(DecentralMl::commit_update(origin(11), id, 1, h(1)), Err::WrongRound);
		commit(11, id, 0);
		has(E::UpdateCommitted { task_id: id, round: 0, submission: 0, who: acc(11) });
		assert_noop!(DecentralMl::commit_update(origin(11), id, 0, h(1)), Err::AlreadyCommitted);
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("u"), update_hash(11, id, 0), EXAMPLES, salt(11)),
			Err::WrongPhase
		);
		expire(id);
		assert_noop!(DecentralMl::commit_update(origin(12), id, 0, h(1)), Err::CommitDeadlinePassed);
		reveal(11, id, 0);
		has(E::UpdateRevealed {
			task_id: id,
			round: 0,
			submission: 0,
			who: acc(11),
			cid: cid("bafy-update"),
			update_hash: update_hash(11, id, 0),
			num_examples: EXAMPLES,
		});
		assert_eq!(UpdateHashes::<Test>::get((id, 0), update_hash(11, id, 0)), Some(0));
	});
}

#[test]
fn a_commitment_replayed_under_another_account_or_another_attempt_fails() {
	build_and_execute(|| {
		let id = default_task();
		// 12 copies 11's commitment and, at the reveal, 11's update.
		let copied = commitment(11, id, 0);
		commit(11, id, 0);
		assert_ok!(DecentralMl::commit_update(origin(12), id, 0, copied));
		expire(id);
		assert_noop!(
			DecentralMl::reveal_update(origin(12), id, 0, cid("u"), update_hash(11, id, 0), EXAMPLES, salt(11)),
			Err::CommitmentMismatch
		);
		// The round fails (one reveal); in the retry, 11's old commitment is worthless.
		reveal(11, id, 0);
		expire(id);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!((task(id).retries, task(id).phase), (1, Phase::Commit));
		let old_hash = H256::from_low_u64_be(((11u64) << 24) | ((id as u64) << 16));
		assert_ok!(DecentralMl::commit_update(origin(13), id, 0, DecentralMl::update_commitment(
			id, 0, 0, &acc(13), &old_hash, EXAMPLES, &salt(13)
		)));
		expire(id);
		assert_noop!(
			DecentralMl::reveal_update(origin(13), id, 0, cid("u"), old_hash, EXAMPLES, salt(13)),
			Err::CommitmentMismatch
		);
	});
}

#[test]
fn num_examples_is_bound_by_the_commitment() {
	build_and_execute(|| {
		let id = default_task();
		commit(11, id, 0);
		expire(id);
		assert_noop!(
			DecentralMl::reveal_update(origin(11), id, 0, cid("u"), update_hash(11, id, 0), EXAMPLES * 10, salt(11)),
			Err::CommitmentMismatch
		);
		reveal(11, id, 0);
	});
}

#[test]
fn a_duplicate_update_hash_is_refused() {
	build_and_execute(|| {
		let id = default_task();
		let hash = update_hash(11, id, 0);
		commit(11, id, 0);
		let own = DecentralMl::update_commitment(id, 0, 0, &acc(12), &hash, EXAMPLES, &salt(12));
		assert_ok!(DecentralMl::commit_update(origin(12), id, 0, own));
		expire(id);
		reveal(11, id, 0);
		assert_noop!(
			DecentralMl::reveal_update(origin(12), id, 0, cid("u"), hash, EXAMPLES, salt(12)),
			Err::DuplicateUpdate
		);
	});
}
