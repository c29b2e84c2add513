//! Creating tasks, their specs, joining, admission and enrolment.

use super::*;

#[test]
fn create_task_escrows_the_rewards_holds_the_deposit_and_opens_enrolment() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		has(E::TaskCreated { task_id: 0, creator: acc(CREATOR), escrow: 2 * REWARD, deposit: TASK_DEPOSIT });
		has(E::PhaseChanged { task_id: 0, round: 0, phase: Phase::Enrol, ends_at: 6 });
		assert_eq!(escrow_balance(0), 2 * REWARD + ED);
		assert_eq!(Balances::balance_on_hold(&HoldReason::TaskDeposit.into(), &acc(CREATOR)), TASK_DEPOSIT);
		assert_eq!((task(0).phase, task(0).deposit), (Phase::Enrol, TASK_DEPOSIT));
	});
}

#[test]
fn create_task_checks_the_server_optimizer_hyper_parameters() {
	build_and_execute(|| {
		let adam = |lr: u32, beta1: u32, beta2: u32, tau: u32| ServerOptimizer::Adam {
			lr,
			beta1: Permill::from_parts(beta1),
			beta2: Permill::from_parts(beta2),
			tau: Perbill::from_parts(tau),
		};
		let with = |server_optimizer| TaskSpec { server_optimizer, ..spec() };
		for (bad, err) in [
			(adam(0, 900_000, 990_000, 1_000_000), Err::ServerLearningRateInvalid),
			(adam(MAX_SERVER_LR + 1, 900_000, 990_000, 1_000_000), Err::ServerLearningRateInvalid),
			(adam(10_000, 1_000_000, 990_000, 1_000_000), Err::ServerDecayInvalid),
			(adam(10_000, 900_000, 1_000_000, 1_000_000), Err::ServerDecayInvalid),
			(adam(10_000, 900_000, 990_000, 0), Err::ServerTauZero),
			(
				ServerOptimizer::Yogi {
					lr: 10_000,
					beta1: Permill::from_percent(90),
					beta2: Permill::from_percent(99),
					tau: Perbill::zero(),
				},
				Err::ServerTauZero,
			),
			(ServerOptimizer::Momentum { lr: 0, momentum: Permill::from_percent(90) }, Err::ServerLearningRateInvalid),
			(ServerOptimizer::Momentum { lr: LR_UNIT, momentum: Permill::one() }, Err::ServerDecayInvalid),
		] {
			assert_noop!(DecentralMl::create_task(origin(CREATOR), with(bad)), err);
		}
		for good in [
			ServerOptimizer::None,
			ServerOptimizer::Momentum { lr: LR_UNIT, momentum: Permill::from_percent(90) },
			adam(MAX_SERVER_LR, 900_000, 999_000, 1),
			ServerOptimizer::Yogi {
				lr: 10_000,
				beta1: Permill::zero(),
				beta2: Permill::from_percent(99),
				tau: Perbill::from_parts(1_000_000),
			},
		] {
			assert_ok!(DecentralMl::create_task(origin(CREATOR), with(good)));
			let id = NextTaskId::<Test>::get() - 1;
			assert_eq!(Tasks::<Test>::get(id).unwrap().spec.server_optimizer, good);
		}
	});
}

#[test]
fn claimed_example_weighting_needs_an_admission_other_than_open() {
	build_and_execute(|| {
		let claimed = |admission| TaskSpec { example_weighting: ExampleWeighting::Claimed, admission, ..spec() };
		let free = Balances::balance(&acc(CREATOR));
		assert_noop!(
			DecentralMl::create_task(origin(CREATOR), claimed(Admission::Open)),
			Err::ClaimedWeightingNeedsClosedAdmission
		);
		assert_eq!(Balances::balance(&acc(CREATOR)), free);
		assert_eq!(Balances::balance_on_hold(&HoldReason::TaskDeposit.into(), &acc(CREATOR)), 0);
		assert_eq!(escrow_balance(0), 0);
		assert_eq!((NextTaskId::<Test>::get(), Tasks::<Test>::get(0)), (0, None));
		// The default weighting stays allowed with open admission.
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		assert_eq!(task(0).spec.example_weighting, ExampleWeighting::MedianCapped);
		for (id, admission) in [(1, Admission::AllowList), (2, Admission::MinReputation(INITIAL_REPUTATION))] {
			assert_ok!(DecentralMl::create_task(origin(CREATOR), claimed(admission)));
			has(E::TaskCreated { task_id: id, creator: acc(CREATOR), escrow: 2 * REWARD, deposit: TASK_DEPOSIT });
			let stored = task(id).spec;
			assert_eq!((stored.example_weighting, stored.admission), (ExampleWeighting::Claimed, admission));
			assert_eq!(escrow_balance(id), 2 * REWARD + ED);
		}
	});
}

#[test]
fn create_task_refuses_inconsistent_specs_and_bonds_below_the_runtime_floor() {
	build_and_execute(|| {
		for bad in [
			TaskSpec { rounds: 0, ..spec() },
			TaskSpec { max_validators: 0, ..spec() },
			TaskSpec { max_validators: 65, committee: 3, ..spec() },
			TaskSpec { min_validators: 5, ..spec() },
			TaskSpec { enrol_blocks: 0, ..spec() },
			TaskSpec { vote_reveal_blocks: 0, ..spec() },
			TaskSpec { min_improvement: 10_001, ..spec() },
			TaskSpec { rule: AggregationRule::MultiKrum { byzantine: 1, keep: 0 }, ..spec() },
		] {
			assert_noop!(DecentralMl::create_task(origin(CREATOR), bad), Err::InvalidSpec);
		}
		assert_noop!(
			DecentralMl::create_task(origin(CREATOR), TaskSpec { contributor_bond: MIN_CONTRIBUTOR_BOND - 1, ..spec() }),
			Err::BondTooLow
		);
		assert_noop!(
			DecentralMl::create_task(origin(CREATOR), TaskSpec { validator_bond: MIN_VALIDATOR_BOND - 1, ..spec() }),
			Err::BondTooLow
		);
	});
}

#[test]
fn max_retries_is_bounded_by_the_runtime() {
	build_and_execute(|| {
		let max: u32 = <Test as Config>::MaxRetries::get();
		assert_noop!(
			DecentralMl::create_task(origin(CREATOR), TaskSpec { max_retries: max + 1, ..spec() }),
			Err::RetriesTooHigh
		);
		assert_ok!(DecentralMl::create_task(origin(CREATOR), TaskSpec { max_retries: max, ..spec() }));
	});
}

#[test]
fn join_task_holds_the_bond_and_records_the_member() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		register(21, Role::Validator);
		assert_noop!(DecentralMl::join_task(origin(21), 0, Role::Validator, V_BOND - 1), Err::BondTooLow);
		assert_noop!(DecentralMl::join_task(origin(21), 0, Role::Contributor, C_BOND), Err::NotRegistered);
		assert_ok!(DecentralMl::join_task(origin(21), 0, Role::Validator, 2_500));
		has(E::TaskJoined { task_id: 0, who: acc(21), role: Role::Validator, bond: 2_500, from_round: 0 });
		assert_eq!(bond_held(21), 2_500);
		assert_eq!(
			Members::<Test>::get(0, acc(21)),
			Some(MemberInfo { role: Role::Validator, bond: 2_500, joined_bond: 2_500, from_round: 0, leaving: false, idle_rounds: 0 })
		);
		assert_eq!(TaskValidators::<Test>::get(0).into_inner(), vec![acc(21)]);
		assert_noop!(DecentralMl::join_task(origin(21), 0, Role::Validator, V_BOND), Err::AlreadyJoined);
		assert_noop!(DecentralMl::join_task(origin(50), 0, Role::Validator, V_BOND), Err::NotRegistered);
	});
}

#[test]
fn join_task_refuses_a_full_task() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), TaskSpec { max_validators: 2, ..spec() }));
		join(21, 0, Role::Validator, V_BOND);
		join(22, 0, Role::Validator, V_BOND);
		register(23, Role::Validator);
		assert_noop!(DecentralMl::join_task(origin(23), 0, Role::Validator, V_BOND), Err::TaskFull);
	});
}

#[test]
fn one_role_per_account_per_task() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		register(21, Role::Contributor);
		join(21, 0, Role::Validator, V_BOND);
		assert_noop!(DecentralMl::join_task(origin(21), 0, Role::Contributor, C_BOND), Err::AlreadyJoined);
	});
}

#[test]
fn the_creator_cannot_join_its_own_task() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		register(CREATOR, Role::Validator);
		assert_noop!(
			DecentralMl::join_task(origin(CREATOR), 0, Role::Validator, V_BOND),
			Err::CreatorCannotJoin
		);
	});
}

#[test]
fn allow_list_admission_admits_only_the_accounts_the_creator_listed() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), TaskSpec { admission: Admission::AllowList, ..spec() }));
		register(21, Role::Validator);
		register(22, Role::Validator);
		assert_noop!(DecentralMl::join_task(origin(21), 0, Role::Validator, V_BOND), Err::NotAllowed);
		let list: BoundedVec<AccountId, _> = vec![acc(21)].try_into().unwrap();
		assert_noop!(DecentralMl::set_allowed(origin(22), 0, list.clone(), true), Err::NotTaskCreator);
		assert_ok!(DecentralMl::set_allowed(origin(CREATOR), 0, list, true));
		has(E::AllowListUpdated { task_id: 0, allowed: true, count: 1 });
		assert_ok!(DecentralMl::join_task(origin(21), 0, Role::Validator, V_BOND));
		assert_noop!(DecentralMl::join_task(origin(22), 0, Role::Validator, V_BOND), Err::NotAllowed);
	});
}

#[test]
fn min_reputation_admission_refuses_accounts_below_the_threshold() {
	build_and_execute(|| {
		let spec = TaskSpec { admission: Admission::MinReputation(INITIAL_REPUTATION + 1), ..spec() };
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec));
		register(21, Role::Validator);
		assert_noop!(DecentralMl::join_task(origin(21), 0, Role::Validator, V_BOND), Err::ReputationTooLow);
		Participants::<Test>::mutate(acc(21), |p| p.as_mut().unwrap().reputation = INITIAL_REPUTATION + 1);
		assert_ok!(DecentralMl::join_task(origin(21), 0, Role::Validator, V_BOND));
	});
}

#[test]
fn enrolment_ends_at_its_deadline_with_enough_members_or_early_when_every_seat_is_taken() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		join(11, 0, Role::Contributor, C_BOND);
		join(21, 0, Role::Validator, V_BOND);
		expire(0);
		// Too few members: enrolment goes on past its deadline.
		assert_eq!(task(0).phase, Phase::Enrol);
		join(12, 0, Role::Contributor, C_BOND);
		join(22, 0, Role::Validator, 3_000);
		assert_eq!(task(0).phase, Phase::Commit);
		has(E::ElectorateFixed { task_id: 0, round: 0, size: 2, stake: 4_000 });
		assert_eq!(Electorate::<Test>::get((0, 0)).into_inner(), vec![(acc(21), V_BOND), (acc(22), 3_000)]);
		// Every seat taken: no wait for the deadline.
		let spec = TaskSpec { max_contributors: 2, max_validators: 2, enrol_blocks: 1_000, ..spec() };
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec));
		for c in [13, 14] {
			join(c, 1, Role::Contributor, C_BOND);
		}
		join(23, 1, Role::Validator, V_BOND);
		assert_eq!(task(1).phase, Phase::Enrol);
		join(24, 1, Role::Validator, V_BOND);
		assert_eq!(task(1).phase, Phase::Commit);
	});
}

#[test]
fn joiners_mid_round_count_only_from_the_next_round() {
	build_and_execute(|| {
		let id = default_task();
		// A late validator with a huge bond and a late contributor join during round 0.
		join(24, id, Role::Validator, 50_000);
		join(14, id, Role::Contributor, C_BOND);
		has(E::TaskJoined { task_id: id, who: acc(24), role: Role::Validator, bond: 50_000, from_round: 1 });
		assert_noop!(
			DecentralMl::commit_update(origin(14), id, 0, commitment(14, id, 0)),
			Err::NotYetEligible
		);
		// The commit phase closes as soon as the eligible contributors committed.
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		assert_eq!(task(id).phase, Phase::Reveal);
		for c in [11, 12, 13] {
			reveal(c, id, 0);
		}
		// The late validator can neither vote nor stall the vote: the threshold is unchanged.
		assert_noop!(DecentralMl::commit_vote(origin(24), id, 0, h(9)), Err::NotInElectorate);
		let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		for w in [21, 22, 23] {
			commit_vote(w, id, 0, &ballot);
		}
		assert_eq!(task(id).phase, Phase::VoteReveal);
		assert_eq!((task(id).electorate_stake, task(id).electorate_size), (3 * V_BOND, 3));
		for w in [21, 22, 23] {
			reveal_vote(w, id, 0, &ballot);
		}
		assert_noop!(DecentralMl::propose_aggregate(origin(24), id, 0, cid("agg"), h(1)), Err::NotInElectorate);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// Nobody slashed the late validator for its silence; from round 1 it is in the electorate.
		assert!(slashes().is_empty());
		has(E::ElectorateFixed { task_id: id, round: 1, size: 4, stake: 53_000 });
		commit(14, id, 1);
	});
}

#[test]
fn leave_task_releases_an_idle_member_and_schedules_an_engaged_one() {
	build_and_execute(|| {
		let id = default_task();
		assert_noop!(DecentralMl::leave_task(origin(40), id), Err::NotMember);
		// A contributor without a commitment leaves at once.
		assert_ok!(DecentralMl::leave_task(origin(13), id));
		has(E::TaskLeft { task_id: id, who: acc(13), released: C_BOND });
		assert_eq!((bond_held(13), task(id).num_contributors), (0, 2));
		// A validator of the electorate only leaves after the round.
		assert_ok!(DecentralMl::leave_task(origin(23), id));
		has(E::LeaveScheduled { task_id: id, who: acc(23) });
		assert_noop!(DecentralMl::leave_task(origin(23), id), Err::AlreadyLeaving);
		updates(id, 0, &[11, 12]);
		let ballot = v(&[(true, 3_000), (true, 2_000)]);
		votes(id, 0, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// The round's finalisation removed it: no second call.
		has(E::TaskLeft { task_id: id, who: acc(23), released: V_BOND });
		assert_eq!(Electorate::<Test>::get((id, 1)).len(), 2);
		assert_noop!(DecentralMl::leave_task(origin(23), id), Err::NotMember);
		assert_eq!(TaskValidators::<Test>::get(id).len(), 2);
	});
}

#[test]
fn leaving_frees_the_seat_at_the_end_of_the_round() {
	build_and_execute(|| {
		let full = TaskSpec { max_validators: 3, ..spec() };
		let id = task_with(full, &[11, 12, 13], &[(21, V_BOND), (22, V_BOND), (23, V_BOND)]);
		// 23 is in the electorate: it is marked leaving and keeps its seat for this round.
		assert_ok!(DecentralMl::leave_task(origin(23), id));
		has(E::LeaveScheduled { task_id: id, who: acc(23) });
		register(24, Role::Validator);
		assert_noop!(DecentralMl::join_task(origin(24), id, Role::Validator, V_BOND), Err::TaskFull);
		default_round(id, 0);
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// Removed when the round is finalised, bond released, without a second call.
		has(E::TaskLeft { task_id: id, who: acc(23), released: V_BOND });
		assert!(Members::<Test>::get(id, acc(23)).is_none());
		assert_eq!((bond_held(23), task(id).num_validators), (0, 2));
		assert_eq!(Participants::<Test>::get(acc(23)).unwrap().validator_tasks, 0);
		assert_eq!(Electorate::<Test>::get((id, 1)).len(), 2);
		// The seat is free from then on.
		assert_ok!(DecentralMl::join_task(origin(24), id, Role::Validator, V_BOND));
		assert_eq!(task(id).num_validators, 3);
	});
}
