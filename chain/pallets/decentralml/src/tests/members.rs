//! Members during a task: leaving, voting weight, idleness, a too small electorate.

use super::*;

#[test]
fn a_slashed_validator_keeps_its_vote_so_two_of_three_still_reach_a_two_thirds_quorum() {
	build_and_execute(|| {
		// Three validators of equal bond, a 2/3 quorum (Permill rounds 2/3 down).
		let two_thirds = TaskSpec { quorum: Permill::from_parts(666_666), ..spec() };
		let id = task_with(two_thirds, &[11, 12, 13], &[(21, V_BOND), (22, V_BOND), (23, V_BOND)]);
		// Round 0: 23 loses one verdict of three (a small slash).
		updates(id, 0, &[11, 12, 13]);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		let odd = v(&[(true, 3_000), (true, 2_000), (true, 0)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot), (23, odd)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let small = V_BOND * 5 / 100 / 3;
		assert_eq!(slashes(), vec![(23, SlashReason::LosingVerdicts, small)]);
		assert_eq!(bond_of(id, 23), V_BOND - small);
		assert_eq!(Members::<Test>::get(id, acc(23)).unwrap().joined_bond, V_BOND);
		// Round 1: the electorate weighs each by the bond it joined with.
		assert_eq!(
			Electorate::<Test>::get((id, 1)).into_inner(),
			vec![(acc(21), V_BOND), (acc(22), V_BOND), (acc(23), V_BOND)]
		);
		assert_eq!(task(id).electorate_stake, 3 * V_BOND);
		System::reset_events();
		// Two of three, the slashed 23 among them, accept submission 0; 22 (honest
		// disagreement) rejects it. By current bonds 21 and 23 would hold 1 984 of 2 984, below
		// the quorum's 1 990: the update would be rejected and the majority slashed.
		updates(id, 1, &[11, 12]);
		let yes = v(&[(true, 3_000), (true, 2_000)]);
		let no = v(&[(false, 3_000), (true, 2_000)]);
		votes(id, 1, &[(21, yes.clone()), (22, no), (23, yes)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 1, cid("agg"), h(2)));
		for w in [21, 22, 23] {
			attest(w, id, 1, h(2));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 1));
		assert_eq!(Submissions::<Test>::get((id, 1), 0).unwrap().status, SubmissionStatus::Accepted);
		// Nobody of the majority is slashed; the minority loses one verdict of two.
		assert!(slashes().iter().all(|(w, _, _)| *w == 22));
		assert_eq!(task(id).spec.quorum.mul_ceil(2 * V_BOND + V_BOND - small), 1_990);
		let summary = RoundSummaries::<Test>::get((id, 1)).unwrap();
		assert_eq!((summary.accepted, summary.rejected), (2, 0));
		assert!(paid_to(21) > 0 && paid_to(23) > 0);
	});
}

/// A round where 11 and 12 commit and reveal (13 does not), 21, 22, 23 accept both and attest.
fn round_without_13(id: TaskId, round: RoundIndex) {
	updates(id, round, &[11, 12]);
	let ballot = v(&[(true, 3_000), (true, 2_000)]);
	votes(id, round, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
	assert_ok!(DecentralMl::propose_aggregate(origin(21), id, round, cid("agg"), h(1 + round as u8)));
	for w in [21, 22, 23] {
		attest(w, id, round, h(1 + round as u8));
	}
	assert_ok!(DecentralMl::finalize_round(origin(30), id, round));
}

fn paid_in_round(id: TaskId, round: RoundIndex) -> Balance {
	let s = RoundSummaries::<Test>::get((id, round)).unwrap();
	s.contributor_rewards + s.validator_rewards
}

fn idle_rounds(id: TaskId, n: u8) -> u32 {
	Members::<Test>::get(id, acc(n)).unwrap().idle_rounds
}

#[test]
fn an_idle_contributor_loses_reputation_then_its_seat_and_part_of_its_bond() {
	build_and_execute(|| {
		let idle = TaskSpec { rounds: 4, max_idle_rounds: 2, ..spec() };
		let id = task_with(idle, &[11, 12, 13], &[(21, V_BOND), (22, V_BOND), (23, V_BOND)]);
		let reputation = |n: u8| Participants::<Test>::get(acc(n)).unwrap().reputation;
		round_without_13(id, 0);
		has(E::MemberIdle { task_id: id, round: 0, who: acc(13), idle_rounds: 1 });
		assert_eq!((idle_rounds(id, 13), reputation(13)), (1, INITIAL_REPUTATION - 1));
		assert_eq!((idle_rounds(id, 11), idle_rounds(id, 21)), (0, 0));
		let escrow_before = task(id).escrow;
		round_without_13(id, 1);
		// The second consecutive idle round: the seat and IdleSlash (10 %) of the bond.
		has(E::MemberIdle { task_id: id, round: 1, who: acc(13), idle_rounds: 2 });
		has(E::Slashed { task_id: id, round: 1, who: acc(13), reason: SlashReason::Idle, amount: C_BOND / 10 });
		has(E::SeatLost { task_id: id, round: 1, who: acc(13), reason: SeatLoss::Idle, released: C_BOND - C_BOND / 10 });
		assert_eq!(reputation(13), INITIAL_REPUTATION - 2);
		assert!(Members::<Test>::get(id, acc(13)).is_none());
		assert_eq!((bond_held(13), task(id).num_contributors), (0, 2));
		assert_eq!(Participants::<Test>::get(acc(13)).unwrap().contributor_tasks, 0);
		assert_eq!(RoundSummaries::<Test>::get((id, 1)).unwrap().slashed, C_BOND / 10);
		assert_eq!(task(id).escrow + task(id).paid, escrow_before + task(id).paid - paid_in_round(id, 1) + C_BOND / 10);
		// Its seat is free: another contributor joins.
		join(14, id, Role::Contributor, C_BOND);
		assert_noop!(DecentralMl::leave_task(origin(13), id), Err::NotMember);
	});
}

#[test]
fn an_acting_member_keeps_its_seat() {
	build_and_execute(|| {
		let idle = TaskSpec { rounds: 4, max_idle_rounds: 2, ..spec() };
		let id = task_with(idle, &[11, 12, 13], &[(21, V_BOND), (22, V_BOND), (23, V_BOND)]);
		round_without_13(id, 0);
		assert_eq!(idle_rounds(id, 13), 1);
		// Acting resets the count.
		default_round(id, 1);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 1));
		assert_eq!(idle_rounds(id, 13), 0);
		round_without_13(id, 2);
		assert_eq!(idle_rounds(id, 13), 1);
		assert!(slashes().iter().all(|(_, reason, _)| *reason != SlashReason::Idle));
		assert_eq!(task(id).num_contributors, 3);
		// Members that act every round never count as idle.
		for n in [11, 12, 21, 22, 23] {
			assert_eq!(idle_rounds(id, n), 0);
		}
		assert!(System::events().iter().all(|r| !matches!(
			&r.event,
			RuntimeEvent::DecentralMl(E::MemberIdle { who, .. }) if *who != acc(13)
		)));
	});
}

#[test]
fn max_idle_rounds_is_bounded_by_the_runtime() {
	build_and_execute(|| {
		assert_noop!(
			DecentralMl::create_task(origin(CREATOR), TaskSpec { max_idle_rounds: 11, ..spec() }),
			Err::IdleRoundsTooHigh
		);
		assert_ok!(DecentralMl::create_task(origin(CREATOR), TaskSpec { max_idle_rounds: 10, ..spec() }));
	});
}

#[test]
fn a_round_whose_electorate_would_be_too_small_goes_back_to_enrolment() {
	build_and_execute(|| {
		let id = default_task();
		assert_ok!(DecentralMl::leave_task(origin(22), id));
		assert_ok!(DecentralMl::leave_task(origin(23), id));
		default_round(id, 0);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// Only 21 is left for round 1 (min_validators 2): enrolment reopens.
		assert_eq!((task(id).round, task(id).phase), (1, Phase::Enrol));
		assert!(Electorate::<Test>::get((id, 1)).is_empty());
		for w in [22, 23] {
			has(E::TaskLeft { task_id: id, who: acc(w), released: V_BOND });
			assert_noop!(DecentralMl::leave_task(origin(w), id), Err::NotMember);
		}
		join(24, id, Role::Validator, V_BOND);
		has(E::TaskJoined { task_id: id, who: acc(24), role: Role::Validator, bond: V_BOND, from_round: 0 });
		expire(id);
		assert_eq!(task(id).phase, Phase::Commit);
		assert_eq!(Electorate::<Test>::get((id, 1)).into_inner(), vec![(acc(21), V_BOND), (acc(24), V_BOND)]);
	});
}
