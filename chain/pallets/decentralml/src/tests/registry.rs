//! Registering for a role and leaving it.

use super::*;

#[test]
fn register_holds_the_stake_and_starts_reputation_at_500() {
	build_and_execute(|| {
		assert_ok!(DecentralMl::register(origin(2), Role::Contributor, 150, [7; 32]));
		has(E::Registered { who: acc(2), role: Role::Contributor, stake: 150 });
		let p = Participants::<Test>::get(acc(2)).unwrap();
		assert_eq!((p.reputation, p.contributor_stake), (INITIAL_REPUTATION, Some(150)));
		assert_eq!(Balances::balance_on_hold(&HoldReason::Stake.into(), &acc(2)), 150);
		assert_noop!(
			DecentralMl::register(origin(3), Role::Validator, MIN_VALIDATOR_STAKE - 1, [0; 32]),
			Err::StakeTooLow
		);
		assert_noop!(
			DecentralMl::register(origin(2), Role::Contributor, 500, [0; 32]),
			Err::AlreadyRegistered
		);
	});
}

#[test]
fn deregister_is_refused_while_a_member_of_an_active_task() {
	build_and_execute(|| {
		let id = default_task();
		assert_noop!(DecentralMl::deregister(origin(21), Role::Validator), Err::HasOpenCommitments);
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		assert_ok!(DecentralMl::deregister(origin(21), Role::Validator));
		has(E::Deregistered { who: acc(21), role: Role::Validator, released: MIN_VALIDATOR_STAKE });
	});
}
