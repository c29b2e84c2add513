//! Purging an ended task.

use super::*;

#[test]
fn purge_removes_the_task_records() {
	build_and_execute(|| {
		let spec = TaskSpec { admission: Admission::AllowList, ..spec() };
		let id = NextTaskId::<Test>::get();
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec));
		let listed: BoundedVec<AccountId, _> =
			[11, 12, 13, 21, 22, 23, 40].map(acc).to_vec().try_into().unwrap();
		assert_ok!(DecentralMl::set_allowed(origin(CREATOR), id, listed, true));
		for c in [11, 12, 13] {
			join(c, id, Role::Contributor, C_BOND);
		}
		for w in [21, 22, 23] {
			join(w, id, Role::Validator, V_BOND);
		}
		expire(id);
		default_round(id, 0);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		default_round(id, 1);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 1));
		assert_eq!(task(id).status, TaskStatus::Finished);
		// Ending the task removed the members; the rounds' records wait for purge_task.
		let records = || {
			let keyed = |k: &(TaskId, RoundIndex)| k.0 == id;
			[
				Members::<Test>::iter_prefix(id).count(),
				TaskValidators::<Test>::get(id).len(),
				AllowList::<Test>::iter_prefix(id).count(),
				Submissions::<Test>::iter_keys().filter(|(k, _)| keyed(k)).count(),
				SubmissionCount::<Test>::iter_keys().filter(keyed).count(),
				CommitmentOf::<Test>::iter_keys().filter(|(k, _)| keyed(k)).count(),
				UpdateHashes::<Test>::iter_keys().filter(|(k, _)| keyed(k)).count(),
				VoteCommits::<Test>::iter_keys().filter(|(k, _)| keyed(k)).count(),
				Votes::<Test>::iter_keys().filter(|(k, _)| keyed(k)).count(),
				Proposals::<Test>::iter_keys().filter(keyed).count(),
				Attestations::<Test>::iter_keys().filter(|(k, _)| keyed(k)).count(),
				Electorate::<Test>::iter_keys().filter(keyed).count(),
			]
		};
		let before = records();
		assert_eq!(before[..3], [0, 0, 7]);
		assert!(before[3..].iter().all(|n| *n > 0), "{before:?}");
		// Bounded per call (`limit` keys of committed storage) until nothing is left.
		let mut calls = 0;
		while Balances::balance_on_hold(&HoldReason::TaskDeposit.into(), &acc(CREATOR)) > 0 {
			assert_ok!(DecentralMl::purge_task(origin(30), id, 4));
			calls += 1;
			assert!(calls < 100);
		}
		assert!(calls >= 1);
		assert_eq!(records(), [0; 12]);
		// What stays, by design (docs/chain.md §3): the task (its final model) and the rounds'
		// summaries, a fixed few bytes per round paid for by the spent deposit.
		assert!(Tasks::<Test>::get(id).is_some());
		assert!(RoundSummaries::<Test>::get((id, 0)).is_some() && RoundSummaries::<Test>::get((id, 1)).is_some());
	});
}
