//! Finalisation, retries, cancellation and the storage deposit.

use super::*;
use frame_support::{traits::Hooks, weights::Weight};

#[test]
fn finalisation_waits_for_every_electorate_attester_or_the_deadline() {
	build_and_execute(|| {
		let id = default_task();
		default_round_until_aggregate(id);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		attest(21, id, 0, h(1));
		attest(22, id, 0, h(1));
		assert!(task(id).adopted.is_some());
		// Adopted, but 23 has not attested yet: no same-block finalisation can cut it out.
		assert_noop!(DecentralMl::finalize_round(origin(30), id, 0), Err::RoundNotFinished);
		attest(23, id, 0, h(1));
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert!(paid_to(23) > 0);
	});
	build_and_execute(|| {
		let id = default_task();
		default_round_until_aggregate(id);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		attest(21, id, 0, h(1));
		attest(22, id, 0, h(1));
		System::set_block_number(task(id).phase_ends_at as u64 - 1);
		assert_noop!(DecentralMl::finalize_round(origin(30), id, 0), Err::RoundNotFinished);
		System::set_block_number(task(id).phase_ends_at as u64);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!(paid_to(23), 0);
	});
}

#[test]
fn attesting_an_unproposed_hash_proposes_it_in_the_same_call() {
	build_and_execute(|| {
		let id = default_task();
		default_round_until_aggregate(id);
		attest(22, id, 0, h(1));
		has(E::AggregateProposed { task_id: id, round: 0, proposer: acc(22), cid: cid("agg"), hash: h(1) });
		let proposals = Proposals::<Test>::get((id, 0));
		assert_eq!(proposals.len(), 1);
		assert_eq!((proposals[0].proposer.clone(), proposals[0].attestations), (acc(22), 1));
		// Another hash is another proposal; a proposer attests only what it proposed.
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(2)));
		assert_noop!(
			DecentralMl::attest_aggregate(origin(21), id, 0, cid("agg"), h(3), 1),
			Err::AlreadyProposed
		);
		attest(23, id, 0, h(3));
		assert_eq!(Proposals::<Test>::get((id, 0)).len(), 3);
	});
}

#[test]
fn the_last_attestation_finalises_the_round_in_its_own_block() {
	build_and_execute(|| {
		let id = default_task();
		default_round_until_aggregate(id);
		attest(21, id, 0, h(1));
		attest(22, id, 0, h(1));
		// Adopted, not all attested: nothing is ready, the block's idle time changes nothing.
		assert!(ReadyToFinalize::<Test>::get().is_empty());
		DecentralMl::on_idle(System::block_number(), Weight::MAX);
		assert_eq!(task(id).round, 0);
		attest(23, id, 0, h(1));
		assert_eq!(ReadyToFinalize::<Test>::get().into_inner(), vec![(id, 0)]);
		// Too little weight left in the block: it waits (and a call could finalise it).
		DecentralMl::on_idle(System::block_number(), Weight::from_parts(1_000, 0));
		assert_eq!((task(id).round, ReadyToFinalize::<Test>::get().len()), (0, 1));
		let used = DecentralMl::on_idle(System::block_number(), Weight::MAX);
		assert!(used.ref_time() > 1_000);
		assert_eq!((task(id).round, task(id).model_hash), (1, h(1)));
		assert!(ReadyToFinalize::<Test>::get().is_empty());
		assert_eq!((paid_to(11), paid_to(21)), (4_200, 1_000));
	});
}

#[test]
fn a_round_finalised_by_a_call_leaves_no_trace_in_the_idle_queue() {
	build_and_execute(|| {
		let id = default_task();
		default_round(id, 0);
		assert_eq!(ReadyToFinalize::<Test>::get().len(), 1);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let escrow = escrow_balance(id);
		DecentralMl::on_idle(System::block_number(), Weight::MAX);
		assert!(ReadyToFinalize::<Test>::get().is_empty());
		assert_eq!((task(id).round, escrow_balance(id)), (1, escrow));
	});
}

#[test]
fn finalize_round_pays_contributors_by_consensus_score_and_validators_by_bond_and_agreement() {
	build_and_execute(|| {
		let id = default_task();
		default_round(id, 0);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// Contributor pool 7 000 split 3 000 : 2 000 (12's median score), 13 rejected.
		assert_eq!((paid_to(11), paid_to(12), paid_to(13)), (4_200, 2_800, 0));
		// Validator pool 3 000 split equally (same bond, full agreement).
		assert_eq!((paid_to(21), paid_to(22), paid_to(23)), (1_000, 1_000, 1_000));
		has(E::RoundFinalized {
			task_id: id,
			round: 0,
			accepted: 2,
			rejected: 1,
			attested_score: 8_000,
			contributor_rewards: 7_000,
			validator_rewards: 3_000,
			slashed: 0,
		});
		assert_eq!((task(id).round, task(id).model_hash), (1, h(1)));
		let p = |n: u8| Participants::<Test>::get(acc(n)).unwrap().reputation;
		assert_eq!((p(11), p(13), p(21)), (INITIAL_REPUTATION + 1, INITIAL_REPUTATION - 1, INITIAL_REPUTATION + 1));
	});
}

#[test]
fn a_failed_round_is_retried_and_the_task_ends_after_max_retries() {
	build_and_execute(|| {
		let id = default_task();
		for attempt in 0..=1u32 {
			assert_eq!(task(id).retries, attempt);
			updates(id, 0, &[11, 12, 13]);
			// Everyone rejects everything: too few accepted updates.
			let ballot = v(&[(false, 0), (false, 0), (false, 0)]);
			votes(id, 0, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
			assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
			has(E::RoundFailed { task_id: id, round: 0, retries: attempt + 1 });
		}
		assert_eq!(task(id).status, TaskStatus::Finished);
		assert_eq!((escrow_balance(id), bond_held(21)), (0, 0));
		assert!(!no(E::TaskFinished { task_id: id, model_cid: cid("bafy-model-0"), model_hash: h(0xAA), refunded: 2 * REWARD + ED }));
	});
}

#[test]
fn cancel_before_any_commitment_ends_the_task_at_once() {
	build_and_execute(|| {
		let id = default_task();
		assert_noop!(DecentralMl::cancel_task(origin(11), id), Err::NotTaskCreator);
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		has(E::TaskCancelled { task_id: id, paid: 0, refunded: 2 * REWARD + ED });
		assert_eq!((task(id).status, escrow_balance(id), bond_held(21), bond_held(11)), (TaskStatus::Cancelled, 0, 0, 0));
		assert_eq!(Members::<Test>::iter_prefix(id).count(), 0);
	});
}

#[test]
fn cancel_during_a_round_waits_for_its_end_and_pays_its_accepted_work() {
	build_and_execute(|| {
		let id = default_task();
		commit(11, id, 0);
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		has(E::CancelScheduled { task_id: id, round: 0 });
		assert_noop!(DecentralMl::cancel_task(origin(CREATOR), id), Err::CancelPending);
		assert_eq!(task(id).status, TaskStatus::Active);
		for c in [12, 13] {
			commit(c, id, 0);
		}
		for c in [11, 12, 13] {
			reveal(c, id, 0);
		}
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!((paid_to(11), paid_to(12)), (4_200, 2_800));
		has(E::TaskCancelled { task_id: id, paid: REWARD, refunded: REWARD + ED });
		assert_eq!((task(id).status, escrow_balance(id), bond_held(21)), (TaskStatus::Cancelled, 0, 0));
	});
}

#[test]
fn the_storage_deposit_is_held_until_purge_task_removes_the_round_data() {
	build_and_execute(|| {
		let id = default_task();
		let deposit_held = || Balances::balance_on_hold(&HoldReason::TaskDeposit.into(), &acc(CREATOR));
		assert_noop!(DecentralMl::purge_task(origin(30), id, 100), Err::TaskStillActive);
		default_round(id, 0);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		default_round(id, 1);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 1));
		assert_eq!((task(id).status, deposit_held()), (TaskStatus::Finished, TASK_DEPOSIT));
		assert_ok!(DecentralMl::purge_task(origin(30), id, 5));
		has(E::TaskDataRemoved { task_id: id, removed: 5 });
		assert_eq!(deposit_held(), TASK_DEPOSIT);
		assert_ok!(DecentralMl::purge_task(origin(30), id, 1_000));
		has(E::TaskPurged { task_id: id, released: TASK_DEPOSIT });
		assert_eq!((deposit_held(), task(id).deposit), (0, 0));
		for r in 0..2 {
			assert_eq!(Submissions::<Test>::iter_prefix((id, r)).count(), 0);
			assert_eq!(Votes::<Test>::iter_prefix((id, r)).count(), 0);
			assert_eq!(UpdateHashes::<Test>::iter_prefix((id, r)).count(), 0);
			assert!(Electorate::<Test>::get((id, r)).is_empty());
			assert!(RoundSummaries::<Test>::get((id, r)).is_some());
		}
	});
}

#[test]
fn settle_decides_the_round_without_writing_and_finalisation_applies_exactly_that() {
	build_and_execute(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		// 23 votes against the others on submission 1 and backs another aggregate: it is slashed.
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		let dissent = v(&[(true, 3_000), (false, 2_000), (false, 0)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot), (23, dissent)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		assert_ok!(DecentralMl::propose_aggregate(origin(23), id, 0, cid("other"), h(2)));
		attest(21, id, 0, h(1));
		attest(22, id, 0, h(1));
		assert_ok!(DecentralMl::attest_aggregate(origin(23), id, 0, cid("other"), h(2), 8_000));
		let records = RoundRecords::<Test>::load(id, &task(id));
		let root = sp_io::storage::root(sp_runtime::StateVersion::V1);
		let settlement = DecentralMl::settle(&records).expect("the round is decided");
		assert_eq!(sp_io::storage::root(sp_runtime::StateVersion::V1), root, "settle wrote");
		let won = settlement.success.clone().expect("the round succeeds");
		let byte = |w: &AccountId| AsRef::<[u8; 32]>::as_ref(w)[0];
		System::reset_events();
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let planned: Vec<(u8, Balance)> = won
			.contributor_pay
			.iter()
			.chain(won.validator_pay.iter())
			.filter(|(_, amount)| *amount > 0)
			.map(|(w, amount)| (byte(w), *amount))
			.collect();
		assert_eq!(payments(), planned);
		let planned: Vec<(u8, SlashReason, Balance)> =
			settlement.slashes.iter().map(|(w, amount, reason)| (byte(w), *reason, *amount)).collect();
		assert_eq!(slashes(), planned);
		assert_eq!(
			planned.iter().map(|(w, r, _)| (*w, *r)).collect::<Vec<_>>(),
			vec![(23, SlashReason::LosingVerdicts), (23, SlashReason::LosingAggregate)]
		);
		let statuses: Vec<SubmissionStatus> =
			(0..3).map(|i| Submissions::<Test>::get((id, 0), i).unwrap().status).collect();
		assert_eq!(statuses, won.statuses.iter().map(|(_, s)| *s).collect::<Vec<_>>());
	});
}
