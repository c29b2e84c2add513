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
	BoundedVec,
};
use sp_arithmetic::{Perbill, Permill};

type E = crate::Event<Test>;
type Err = crate::Error<Test>;

const CREATOR: u8 = 1;
const REWARD: Balance = 10_000;
const C_BOND: Balance = 100;
const V_BOND: Balance = 1_000;
const EXAMPLES: u64 = 100;

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
		max_validators: 4,
		quorum: Permill::from_percent(50),
		min_validators: 2,
		reward_per_round: REWARD,
		validator_share: Permill::from_percent(30),
		rule: AggregationRule::FedAvg,
		server_optimizer: ServerOptimizer::None,
		max_examples: 1_000,
		example_weighting: ExampleWeighting::MedianCapped,
		min_improvement: 0,
		contributor_bond: C_BOND,
		validator_bond: V_BOND,
		admission: Admission::Open,
		enrol_blocks: 5,
		commit_blocks: 10,
		reveal_blocks: 10,
		vote_blocks: 10,
		vote_reveal_blocks: 10,
		attest_blocks: 10,
		max_retries: 1,
		private: false,
		max_idle_rounds: 0,
	}
}

fn has(event: E) {
	System::assert_has_event(RuntimeEvent::DecentralMl(event));
}

fn no(event: E) -> bool {
	!System::events().iter().any(|r| r.event == RuntimeEvent::DecentralMl(event.clone()))
}

fn slashes() -> Vec<(u8, SlashReason, Balance)> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::DecentralMl(E::Slashed { who, reason, amount, .. }) =>
				Some((AsRef::<[u8; 32]>::as_ref(&who)[0], reason, amount)),
			_ => None,
		})
		.collect()
}

fn payments() -> Vec<(u8, Balance)> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::DecentralMl(E::RewardPaid { who, amount, .. }) =>
				Some((AsRef::<[u8; 32]>::as_ref(&who)[0], amount)),
			_ => None,
		})
		.collect()
}

fn paid_to(n: u8) -> Balance {
	payments().iter().filter(|(w, _)| *w == n).map(|(_, a)| a).sum()
}

fn register(n: u8, role: Role) {
	if Participants::<Test>::get(acc(n))
		.map(|p| match role {
			Role::Contributor => p.contributor_stake.is_some(),
			Role::Validator => p.validator_stake.is_some(),
		})
		.unwrap_or(false)
	{
		return;
	}
	let stake = match role {
		Role::Contributor => MIN_CONTRIBUTOR_STAKE,
		Role::Validator => MIN_VALIDATOR_STAKE,
	};
	assert_ok!(DecentralMl::register(origin(n), role, stake, [n; 32]));
}

fn join(n: u8, id: TaskId, role: Role, bond: Balance) {
	register(n, role);
	assert_ok!(DecentralMl::join_task(origin(n), id, role, bond));
}

/// Runs the lazy phase advance of task `id` as any call would.
fn poke(id: TaskId) {
	let mut t = task(id);
	DecentralMl::advance(id, &mut t);
	Tasks::<Test>::insert(id, t);
}

/// Moves to the block where the current phase of task `id` closes and advances.
fn expire(id: TaskId) {
	System::set_block_number(task(id).phase_ends_at as u64);
	poke(id);
}

/// Creates a task from `spec`, joins the members with their bonds and ends enrolment.
fn task_with(spec: TaskSpec<Balance>, contributors: &[u8], validators: &[(u8, Balance)]) -> TaskId {
	let id = NextTaskId::<Test>::get();
	assert_ok!(DecentralMl::create_task(origin(CREATOR), spec));
	for c in contributors {
		join(*c, id, Role::Contributor, C_BOND);
	}
	for (v, bond) in validators {
		join(*v, id, Role::Validator, *bond);
	}
	if task(id).phase == Phase::Enrol {
		expire(id);
	}
	assert_eq!(task(id).phase, Phase::Commit);
	id
}

/// Contributors 11, 12, 13 and validators 21, 22, 23 (bond 1 000 each), round 0 in `Commit`.
fn default_task() -> TaskId {
	task_with(spec(), &[11, 12, 13], &[(21, V_BOND), (22, V_BOND), (23, V_BOND)])
}

fn task(id: TaskId) -> TaskInfo<AccountId, Balance> {
	Tasks::<Test>::get(id).unwrap()
}

fn update_hash(who: u8, id: TaskId, round: RoundIndex) -> H256 {
	let attempt = Tasks::<Test>::get(id).map(|t| t.retries).unwrap_or(0);
	H256::from_low_u64_be(((who as u64) << 24) | ((id as u64) << 16) | ((round as u64) << 8) | attempt as u64)
}

fn commitment(who: u8, id: TaskId, round: RoundIndex) -> H256 {
	DecentralMl::update_commitment(
		id,
		round,
		task(id).retries,
		&acc(who),
		&update_hash(who, id, round),
		EXAMPLES,
		&salt(who),
	)
}

fn commit(who: u8, id: TaskId, round: RoundIndex) {
	assert_ok!(DecentralMl::commit_update(origin(who), id, round, commitment(who, id, round)));
}

fn reveal(who: u8, id: TaskId, round: RoundIndex) {
	assert_ok!(DecentralMl::reveal_update(
		origin(who),
		id,
		round,
		cid("bafy-update"),
		update_hash(who, id, round),
		EXAMPLES,
		salt(who)
	));
}

/// The probe (units of 1e-9) every validator that evaluated the round measures in the tests
/// that do not look at probes: the same for every verdict, so all of them are evidenced.
const PROBE: u32 = 500_000_000;

/// Verdicts on submissions 0, 1, ... from `(accept, score)` pairs, each with the probe `PROBE`.
fn v(list: &[(bool, u32)]) -> Vec<Verdict> {
	list.iter()
		.enumerate()
		.map(|(i, (accept, score))| Verdict { submission: i as u32, accept: *accept, score: *score, probe: PROBE })
		.collect()
}

/// Verdicts on submissions 0, 1, ... from `(accept, score, probe)` triples.
fn vp(list: &[(bool, u32, u32)]) -> Vec<Verdict> {
	list.iter()
		.enumerate()
		.map(|(i, (accept, score, probe))| Verdict {
			submission: i as u32,
			accept: *accept,
			score: *score,
			probe: *probe,
		})
		.collect()
}

/// The pallet's consensus with the mock runtime's tolerances.
fn consensus(accepted: &[bool], votes: &[(u128, &[Verdict])]) -> Consensus {
	DecentralMl::consensus(accepted, votes, SCORE_TOLERANCE, ProbeTolerance::get(), PROBE_FLOOR)
}

fn commit_vote(who: u8, id: TaskId, round: RoundIndex, verdicts: &[Verdict]) {
	let c = DecentralMl::vote_commitment(id, round, task(id).retries, &acc(who), verdicts, &salt(who));
	assert_ok!(DecentralMl::commit_vote(origin(who), id, round, c));
}

fn reveal_vote(who: u8, id: TaskId, round: RoundIndex, verdicts: &[Verdict]) {
	assert_ok!(DecentralMl::reveal_vote(origin(who), id, round, verdicts.to_vec(), salt(who)));
}

/// Every contributor in `contributors` commits and reveals; the round is then in `VoteCommit`.
fn updates(id: TaskId, round: RoundIndex, contributors: &[u8]) {
	for c in contributors {
		commit(*c, id, round);
	}
	if task(id).phase == Phase::Commit {
		expire(id);
	}
	assert_eq!(task(id).phase, Phase::Reveal);
	for c in contributors {
		reveal(*c, id, round);
	}
	assert_eq!(task(id).phase, Phase::VoteCommit);
}

/// Each `(validator, verdicts)` commits, then reveals; expires phases whose members are silent.
fn votes(id: TaskId, round: RoundIndex, ballots: &[(u8, Vec<Verdict>)]) {
	for (who, verdicts) in ballots {
		commit_vote(*who, id, round, verdicts);
	}
	if task(id).phase == Phase::VoteCommit {
		expire(id);
	}
	assert_eq!(task(id).phase, Phase::VoteReveal);
	for (who, verdicts) in ballots {
		reveal_vote(*who, id, round, verdicts);
	}
	assert_eq!(task(id).phase, Phase::Aggregate);
}

fn attest(who: u8, id: TaskId, round: RoundIndex, hash: H256) {
	assert_ok!(DecentralMl::attest_aggregate(origin(who), id, round, cid("agg"), hash, 8_000));
}

/// The default round: 11, 12, 13 reveal; 21, 22, 23 accept 0 and 1, reject 2; 21 proposes h(1)
/// and all three attest it.
fn default_round(id: TaskId, round: RoundIndex) {
	updates(id, round, &[11, 12, 13]);
	let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
	votes(id, round, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
	assert_ok!(DecentralMl::propose_aggregate(origin(21), id, round, cid("agg"), h(1)));
	for w in [21, 22, 23] {
		attest(w, id, round, h(1));
	}
}

fn escrow_balance(id: TaskId) -> Balance {
	Balances::balance(&DecentralMl::escrow_account(id))
}

fn bond_held(n: u8) -> Balance {
	Balances::balance_on_hold(&HoldReason::TaskBond.into(), &acc(n))
}

fn bond_of(id: TaskId, n: u8) -> Balance {
	Members::<Test>::get(id, acc(n)).unwrap().bond
}

// ---------------------------------------------------------------- registry

#[test]
fn register_holds_the_stake_and_starts_reputation_at_500() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
		let id = default_task();
		assert_noop!(DecentralMl::deregister(origin(21), Role::Validator), Err::HasOpenCommitments);
		assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
		assert_ok!(DecentralMl::deregister(origin(21), Role::Validator));
		has(E::Deregistered { who: acc(21), role: Role::Validator, released: MIN_VALIDATOR_STAKE });
	});
}

// ---------------------------------------------------------------- tasks and admission

#[test]
fn create_task_escrows_the_rewards_holds_the_deposit_and_opens_enrolment() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
		for bad in [
			TaskSpec { rounds: 0, ..spec() },
			TaskSpec { max_validators: 0, ..spec() },
			TaskSpec { max_validators: 33, ..spec() },
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), TaskSpec { max_validators: 2, ..spec() }));
		join(21, 0, Role::Validator, V_BOND);
		join(22, 0, Role::Validator, V_BOND);
		register(23, Role::Validator);
		assert_noop!(DecentralMl::join_task(origin(23), 0, Role::Validator, V_BOND), Err::TaskFull);
	});
}

#[test]
fn one_role_per_account_per_task() {
	new_test_ext().execute_with(|| {
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec()));
		register(21, Role::Contributor);
		join(21, 0, Role::Validator, V_BOND);
		assert_noop!(DecentralMl::join_task(origin(21), 0, Role::Contributor, C_BOND), Err::AlreadyJoined);
	});
}

#[test]
fn the_creator_cannot_join_its_own_task() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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

#[test]
fn a_slashed_validator_keeps_its_vote_so_two_of_three_still_reach_a_two_thirds_quorum() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
		assert_noop!(
			DecentralMl::create_task(origin(CREATOR), TaskSpec { max_idle_rounds: 11, ..spec() }),
			Err::IdleRoundsTooHigh
		);
		assert_ok!(DecentralMl::create_task(origin(CREATOR), TaskSpec { max_idle_rounds: 10, ..spec() }));
	});
}

#[test]
fn a_round_whose_electorate_would_be_too_small_goes_back_to_enrolment() {
	new_test_ext().execute_with(|| {
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

// ---------------------------------------------------------------- updates

#[test]
fn commit_and_reveal_record_a_numbered_submission() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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

// ---------------------------------------------------------------- sealed votes

#[test]
fn a_vote_is_committed_then_revealed_and_adds_its_bond_to_the_stakes() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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

// ---------------------------------------------------------------- slashes

#[test]
fn silence_slashes_the_bond_into_the_escrow() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
fn proposing_or_attesting_a_losing_aggregate_is_slashed() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
		let id = default_task();
		default_round_until_aggregate(id);
		assert_noop!(DecentralMl::propose_aggregate(origin(11), id, 0, cid("agg"), h(1)), Err::NotInElectorate);
		assert_noop!(DecentralMl::propose_aggregate(origin(40), id, 0, cid("agg"), h(1)), Err::NotInElectorate);
		assert_ok!(DecentralMl::propose_aggregate(origin(22), id, 0, cid("agg"), h(1)));
		assert_noop!(DecentralMl::propose_aggregate(origin(22), id, 0, cid("agg"), h(2)), Err::AlreadyProposed);
		assert_noop!(DecentralMl::attest_aggregate(origin(11), id, 0, cid("agg"), h(1), 1), Err::NotInElectorate);
		assert_noop!(DecentralMl::attest_aggregate(origin(21), id, 0, cid("agg"), h(3), 1), Err::UnknownProposal);
		attest(21, id, 0, h(1));
		assert_noop!(DecentralMl::attest_aggregate(origin(21), id, 0, cid("agg"), h(1), 1), Err::AlreadyAttested);
	});
}

fn default_round_until_aggregate(id: TaskId) {
	updates(id, 0, &[11, 12, 13]);
	let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
	votes(id, 0, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
}

// ---------------------------------------------------------------- finalisation and cancellation

#[test]
fn finalisation_waits_for_every_electorate_attester_or_the_deadline() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
fn finalize_round_pays_contributors_by_consensus_score_and_validators_by_bond_and_agreement() {
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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

// ---------------------------------------------------------------- incentives

/// Runs a one-round task where honest validator 21 (bond 3 000) rejects submission 1 (poisoned)
/// and the `sybils` (bonds) accept everything; returns (status of submission 1, total paid to
/// the sybils).
fn sybil_round(sybils: &[(u8, Balance)]) -> (SubmissionStatus, Balance) {
	let spec = TaskSpec { rounds: 1, min_contributors: 1, max_validators: 8, validator_bond: MIN_VALIDATOR_BOND, ..spec() };
	let mut validators = vec![(21, 3_000)];
	validators.extend_from_slice(sybils);
	let id = task_with(spec, &[11, 12], &validators);
	updates(id, 0, &[11, 12]);
	let honest = v(&[(true, 3_000), (false, 0)]);
	let accept_all = v(&[(true, 3_000), (true, 3_000)]);
	let mut ballots = vec![(21, honest)];
	ballots.extend(sybils.iter().map(|(s, _)| (*s, accept_all.clone())));
	votes(id, 0, &ballots);
	assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
	for (w, _) in validators.iter() {
		attest(*w, id, 0, h(1));
	}
	assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
	let status = Submissions::<Test>::get((id, 0), 1).unwrap().status;
	(status, sybils.iter().map(|(s, _)| paid_to(*s)).sum())
}

#[test]
fn sybil_accounts_splitting_a_stake_cannot_outvote_it_nor_earn_more() {
	let single = new_test_ext().execute_with(|| sybil_round(&[(31, 2_400)]));
	let split = new_test_ext().execute_with(|| sybil_round(&[(31, 800), (32, 800), (33, 800)]));
	// Three accounts against one: by head count they would win; by stake they do not.
	assert_eq!(single.0, SubmissionStatus::Rejected);
	assert_eq!(split.0, SubmissionStatus::Rejected);
	println!("sybil pay: one account {} vs three accounts {}", single.1, split.1);
	assert!(split.1 <= single.1);
	assert_eq!((single.1, split.1), (272, 270));
}

/// The fixed scenario the client's consensus mirror checks (`/work/notes/payout-scenario.md`).
#[test]
fn the_payout_rule_pays_honest_validators_more_than_accept_all_and_random_ones() {
	new_test_ext().execute_with(|| {
		let spec = TaskSpec {
			rounds: 1,
			min_contributors: 1,
			quorum: Permill::from_percent(50),
			validator_share: Permill::from_percent(30),
			reward_per_round: 10_000,
			..spec()
		};
		let (h1, h2, all, random) = (21u8, 22u8, 23u8, 24u8);
		let id = task_with(
			spec,
			&[11, 12, 13, 14],
			&[(h1, 1_000), (h2, 1_000), (all, 1_000), (random, 1_000)],
		);
		updates(id, 0, &[11, 12, 13, 14]);
		let ballots = [
			(h1, v(&[(true, 3_000), (true, 2_800), (true, 2_600), (false, 0)])),
			(h2, v(&[(true, 3_100), (true, 2_700), (true, 2_600), (false, 0)])),
			(all, v(&[(true, 5_000), (true, 5_000), (true, 5_000), (true, 5_000)])),
			(random, v(&[(true, 1_200), (false, 9_000), (true, 400), (true, 7_000)])),
		];
		// The consensus the pallet computes (also exposed for the client's mirror).
		let accepted = [true, true, true, true]; // submission 3 gets 2 000 >= 50 % of 4 000
		let refs: Vec<(u128, &[Verdict])> = ballots.iter().map(|(_, b)| (1_000u128, &b[..])).collect();
		let c = consensus(&accepted, &refs);
		println!("medians {:?} matches {:?} Q_v ppm {:?}", c.medians, c.matches, c.quality);
		// Every validator of this scenario measured the same probe: all verdicts are evidenced.
		assert_eq!(c.probe_medians, vec![PROBE; 4]);
		assert_eq!(c.medians, vec![3_000, 2_800, 2_600, 0]);
		assert_eq!(c.matches, vec![3, 3, 4, 3]);
		assert_eq!(c.quality, vec![562_500, 534_375, 0, 0]);
		votes(id, 0, &ballots);
		assert_ok!(DecentralMl::propose_aggregate(origin(h1), id, 0, cid("agg"), h(1)));
		for w in [h1, h2, all, random] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let pay: Vec<Balance> = [h1, h2, all, random].iter().map(|w| paid_to(*w)).collect();
		let contributors: Vec<Balance> = [11, 12, 13, 14].iter().map(|w| paid_to(*w)).collect();
		println!("validator pay {pay:?}; contributor pay {contributors:?}; slashes {:?}", slashes());
		assert_eq!(pay, vec![1_538, 1_461, 0, 0]);
		assert_eq!(contributors, vec![2_500, 2_333, 2_166, 0]);
		assert_eq!(
			slashes(),
			vec![
				(h1, SlashReason::LosingVerdicts, 12),
				(h2, SlashReason::LosingVerdicts, 12),
				(random, SlashReason::LosingVerdicts, 12),
			]
		);
		assert!(pay[0] > pay[2] && pay[0] > pay[3] && pay[1] > pay[2] && pay[1] > pay[3]);
		// A reject-all validator in place of `random` (same scenario otherwise).
		let reject_all = v(&[(false, 0), (false, 0), (false, 0), (false, 0)]);
		let mut refs = refs.clone();
		refs[3] = (1_000, &reject_all[..]);
		let accepted = [true, true, true, false]; // submission 3: 1 000 < 2 000
		let c = consensus(&accepted, &refs);
		println!("with reject-all: medians {:?} matches {:?} Q_v ppm {:?}", c.medians, c.matches, c.quality);
		assert_eq!(c.medians, vec![3_000, 2_700, 2_600, 0]);
		assert_eq!(c.quality, vec![975_000, 975_000, 0, 15_625]);
		assert!(c.quality[0] > c.quality[3] && c.quality[1] > c.quality[3]);
	});
}

#[test]
fn a_vote_without_evidence_earns_nothing_and_is_slashed() {
	new_test_ext().execute_with(|| {
		let id = default_task();
		updates(id, 0, &[11, 12, 13]);
		let honest = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
		// The same verdicts and scores, but probes off the consensus probe (1 % and more).
		let unevidenced = vp(&[(true, 3_000, 0), (true, 2_000, PROBE + PROBE / 100), (false, 0, PROBE / 2)]);
		let c = consensus(
			&[true, true, false],
			&[(V_BOND, &honest[..]), (V_BOND, &honest[..]), (V_BOND, &unevidenced[..])],
		);
		assert_eq!(c.probe_medians, vec![PROBE; 3]);
		assert_eq!(c.medians, vec![3_000, 2_000, 0]);
		assert_eq!((c.matches, c.quality), (vec![3, 3, 0], vec![1_000_000, 1_000_000, 0]));
		votes(id, 0, &[(21, honest.clone()), (22, honest), (23, unevidenced)]);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for w in [21, 22, 23] {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// Acceptance is unchanged (23's accept stake counts); pay is not.
		assert_eq!(Submissions::<Test>::get((id, 0), 1).unwrap().accept_stake, 3 * V_BOND);
		assert_eq!((paid_to(21), paid_to(22), paid_to(23)), (1_500, 1_500, 0));
		assert_eq!((paid_to(11), paid_to(12), paid_to(13)), (4_200, 2_800, 0));
		// 3 of 3 verdicts lost: 1 000 × 5 % × 3/3.
		assert_eq!(slashes(), vec![(23, SlashReason::LosingVerdicts, 50)]);
		assert_eq!(bond_of(id, 23), V_BOND - 50);
	});
}

#[test]
fn a_lazy_validator_replaying_last_rounds_consensus_earns_nothing_in_every_round() {
	new_test_ext().execute_with(|| {
		let lazy = 24u8;
		let honest = [21u8, 22, 23];
		let id = task_with(
			spec(),
			&[11, 12, 13],
			&[(21, V_BOND), (22, V_BOND), (23, V_BOND), (lazy, V_BOND)],
		);
		// The probes honest validators measure: a function of the round (its updates and its
		// probe batch) and the submission, up to a rounding difference between machines.
		let probe = |round: u32, i: u32, validator: u8| {
			PROBE - 20_000_000 * round + 7_000_000 * i + (validator as u32 % 3) * 400
		};
		let scores = [[3_000, 2_000, 0], [2_900, 2_100, 0]];
		let mut replay: Option<Vec<Verdict>> = None;
		for round in 0..2u32 {
			updates(id, round, &[11, 12, 13]);
			let honest_vote = |w: u8| {
				vp(&[
					(true, scores[round as usize][0], probe(round, 0, w)),
					(true, scores[round as usize][1], probe(round, 1, w)),
					(false, scores[round as usize][2], probe(round, 2, w)),
				])
			};
			// Round 0: nothing to replay yet, the lazy validator accepts everything and guesses
			// the probe 0. Round 1: it replays round 0's public outcome, consensus scores and
			// consensus probes.
			let lazy_vote = replay.clone().unwrap_or_else(|| vp(&[(true, 5_000, 0); 3]));
			let mut ballots: Vec<(u8, Vec<Verdict>)> = honest.iter().map(|w| (*w, honest_vote(*w))).collect();
			ballots.push((lazy, lazy_vote.clone()));
			let lazy_bond = bond_of(id, lazy) as u128;
			let refs: Vec<(u128, &[Verdict])> = ballots
				.iter()
				.map(|(w, b)| (if *w == lazy { lazy_bond } else { V_BOND }, &b[..]))
				.collect();
			let accepted = [true, true, false];
			let c = consensus(&accepted, &refs);
			println!("round {round}: probes {:?} medians {:?} Q_v {:?}", c.probe_medians, c.medians, c.quality);
			assert_eq!(c.medians, scores[round as usize].to_vec());
			assert_eq!((c.matches[3], c.quality[3]), (0, 0));
			assert!(c.quality[..3].iter().all(|q| *q == 1_000_000));
			if round == 1 {
				// Had the probe not counted, the replay would have earned almost as much as
				// honest work: A = 1, C = 1 − 200 / 3 000.
				let blind = DecentralMl::consensus(&accepted, &refs, SCORE_TOLERANCE, Permill::one(), u32::MAX);
				assert_eq!((blind.matches[3], blind.quality[3]), (3, 933_334));
			}
			votes(id, round, &ballots);
			assert_ok!(DecentralMl::propose_aggregate(origin(21), id, round, cid("agg"), h(1)));
			for w in [21, 22, 23, lazy] {
				attest(w, id, round, h(1));
			}
			System::reset_events();
			assert_ok!(DecentralMl::finalize_round(origin(30), id, round));
			assert_eq!(
				[21, 22, 23, lazy].map(paid_to),
				[1_000, 1_000, 1_000, 0],
				"round {round}: the lazy validator earns nothing"
			);
			// 5 % of its bond × 3/3 losing verdicts: 1 000 → 950 → 903 (47.5 rounded down).
			let slashed = lazy_bond * 5 / 100;
			assert_eq!(slashes(), vec![(lazy, SlashReason::LosingVerdicts, slashed)]);
			// What round `round` made public, replayed next round.
			let medians = c.medians.clone();
			let probes = c.probe_medians.clone();
			replay = Some(
				(0..3)
					.map(|i| Verdict {
						submission: i as u32,
						accept: Submissions::<Test>::get((id, round), i as u32).unwrap().status ==
							SubmissionStatus::Accepted,
						score: medians[i],
						probe: probes[i],
					})
					.collect(),
			);
		}
		assert_eq!(task(id).status, TaskStatus::Finished);
	});
}

#[test]
fn unevidenced_scores_do_not_set_the_consensus_score() {
	new_test_ext().execute_with(|| {
		let spec = TaskSpec { rounds: 1, max_validators: 7, ..spec() };
		let honest = [21u8, 22, 23, 24];
		let lazy = [25u8, 26, 27];
		let validators: Vec<(u8, Balance)> = honest.iter().chain(lazy.iter()).map(|w| (*w, V_BOND)).collect();
		let id = task_with(spec, &[11, 12], &validators);
		updates(id, 0, &[11, 12]);
		// 4/7 of the stake evaluated (probes within 0.1 % of each other); 3/7 did not and all
		// report the same high scores.
		let mut ballots: Vec<(u8, Vec<Verdict>)> = honest
			.iter()
			.zip([2_000u32, 2_500, 3_000, 3_500])
			.enumerate()
			.map(|(k, (w, s0))| (*w, vp(&[(true, s0, PROBE + 100 * k as u32), (true, 1_000, PROBE / 2 - 100 * k as u32)])))
			.collect();
		ballots.extend(lazy.iter().map(|w| (*w, vp(&[(true, 9_000, 0), (true, 9_000, 0)]))));
		let refs: Vec<(u128, &[Verdict])> = ballots.iter().map(|(_, b)| (V_BOND, &b[..])).collect();
		let c = consensus(&[true, true], &refs);
		// The lower median of the 7 probes is the lowest honest one: the lazy zeros are off it.
		assert_eq!(c.probe_medians, vec![PROBE, PROBE / 2 - 300]);
		// The evidenced 4/7 set the scores: 2 500 (not 3 500, the median of all 7 scores).
		assert_eq!(c.medians, vec![2_500, 1_000]);
		assert_eq!(c.matches, vec![2, 2, 2, 2, 0, 0, 0]);
		assert_eq!(&c.quality[4..], &[0, 0, 0]);
		votes(id, 0, &ballots);
		assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
		for (w, _) in validators.iter() {
			attest(*w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		// Contributor pool 7 000 split 2 500 : 1 000.
		assert_eq!((paid_to(11), paid_to(12)), (5_000, 2_000));
		assert!(honest.iter().all(|w| paid_to(*w) > 0));
		assert!(lazy.iter().all(|w| paid_to(*w) == 0));
		assert_eq!(slashes(), lazy.iter().map(|w| (*w, SlashReason::LosingVerdicts, 50)).collect::<Vec<_>>());
	});
}

#[test]
fn probes_within_the_tolerance_count_as_evidence() {
	// 0.1 % of a consensus probe of 1e9 (1.0) is 1 000 000; the floor is 1 000 (1e-6).
	let median = 1_000_000_000u32;
	let tolerance = ProbeTolerance::get();
	for (probe, evidenced) in [
		(median, true),
		(median + 999_999, true),     // < 0.1 %
		(median - 999_999, true),
		(median + 1_000_000, true),   // exactly 0.1 %
		(median - 1_000_000, true),
		(median + 1_000_001, false),  // > 0.1 %
		(median - 1_000_001, false),
		(0, false),
	] {
		assert_eq!(DecentralMl::evidenced(probe, median, tolerance, PROBE_FLOOR), evidenced, "probe {probe}");
		// The same through the consensus: two validators on the median, one at `probe`.
		let on = vp(&[(true, 3_000, median)]);
		let other = vp(&[(true, 3_000, probe)]);
		let c = consensus(&[true], &[(V_BOND, &on[..]), (V_BOND, &on[..]), (V_BOND, &other[..])]);
		assert_eq!(c.probe_medians, vec![median]);
		assert_eq!(c.matches[2], evidenced as u32, "probe {probe}");
		assert_eq!(c.quality[2], if evidenced { 1_000_000 } else { 0 });
	}
	// Near 0 the relative tolerance vanishes (0.1 % of 500 rounds down to 0): the floor applies.
	for (median, probe, evidenced) in [
		(0, 1_000, true),
		(0, 1_001, false),
		(500, 1_500, true),
		(500, 1_501, false),
		(500, 0, true),
		// Where 0.1 % of the median exceeds the floor, it is the wider bound.
		(2_000_000, 2_002_000, true),
		(2_000_000, 2_002_001, false),
	] {
		assert_eq!(DecentralMl::evidenced(probe, median, tolerance, PROBE_FLOOR), evidenced, "{probe} vs {median}");
	}
	// The mock's tolerances are the runtime's (checked in the runtime's tests): 1 000 ppm and
	// 1 000 probe units.
	assert_eq!((tolerance, PROBE_FLOOR), (Permill::from_parts(1_000), 1_000));
}

// ---------------------------------------------------------------- formats

#[test]
fn the_escrow_account_is_the_pallet_id_sub_account_of_the_task_id() {
	let mut expected = [0u8; 32];
	expected[..4].copy_from_slice(b"modl");
	expected[4..12].copy_from_slice(b"dml/escr");
	expected[12..16].copy_from_slice(&7u32.to_le_bytes());
	assert_eq!(DecentralMl::escrow_account(7), AccountId::new(expected));
}

#[test]
fn the_update_commitment_binds_task_round_attempt_account_hash_examples_and_salt() {
	let mut data = Vec::new();
	data.extend_from_slice(&5u32.to_le_bytes());
	data.extend_from_slice(&6u32.to_le_bytes());
	data.extend_from_slice(&2u32.to_le_bytes());
	data.extend_from_slice(&[3u8; 32]);
	data.extend_from_slice(h(1).as_bytes());
	data.extend_from_slice(&77u64.to_le_bytes());
	data.extend_from_slice(&salt(2));
	assert_eq!(
		DecentralMl::update_commitment(5, 6, 2, &acc(3), &h(1), 77, &salt(2)),
		H256(sp_io::hashing::blake2_256(&data))
	);
}

#[test]
fn the_vote_commitment_binds_task_round_attempt_account_verdicts_and_salt() {
	let verdicts = vp(&[(true, 300, 123_456_789), (false, 10_000, 7)]);
	let mut data = Vec::new();
	data.extend_from_slice(&5u32.to_le_bytes());
	data.extend_from_slice(&6u32.to_le_bytes());
	data.extend_from_slice(&0u32.to_le_bytes());
	data.extend_from_slice(&[3u8; 32]);
	data.push(2 << 2); // compact length 2
	for (i, (accept, score, probe)) in [(1u8, 300u32, 123_456_789u32), (0, 10_000, 7)].iter().enumerate() {
		data.extend_from_slice(&(i as u32).to_le_bytes());
		data.push(*accept);
		data.extend_from_slice(&score.to_le_bytes());
		data.extend_from_slice(&probe.to_le_bytes());
	}
	data.extend_from_slice(&salt(2));
	assert_eq!(
		DecentralMl::vote_commitment(5, 6, 0, &acc(3), &verdicts, &salt(2)),
		H256(sp_io::hashing::blake2_256(&data))
	);
}

// ---------------------------------------------------------------- conservation

struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}
	fn below(&mut self, n: u64) -> u64 {
		self.next() % n.max(1)
	}
	fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
		xs[self.below(xs.len() as u64) as usize]
	}
}

fn first_byte(who: &AccountId) -> u8 {
	AsRef::<[u8; 32]>::as_ref(who)[0]
}

fn check_invariants(issuance: Balance) {
	use std::collections::BTreeMap;
	assert_eq!(Balances::total_issuance(), issuance, "total issuance changed");
	let mut bonds = BTreeMap::<AccountId, Balance>::new();
	let mut deposits = BTreeMap::<AccountId, Balance>::new();
	for id in 0..NextTaskId::<Test>::get() {
		let t = task(id);
		let on_account = escrow_balance(id);
		*deposits.entry(t.creator.clone()).or_default() += t.deposit;
		let members: Vec<_> = Members::<Test>::iter_prefix(id).collect();
		match t.status {
			TaskStatus::Active => {
				assert_eq!(on_account, t.escrow + ED, "escrow of task {id} unaccounted");
				let remaining = (t.spec.rounds - t.round) as Balance * t.spec.reward_per_round;
				assert!(t.escrow >= remaining, "task {id} cannot pay its remaining rounds");
				let count = |role| members.iter().filter(|(_, m)| m.role == role).count() as u32;
				assert_eq!(count(Role::Contributor), t.num_contributors, "task {id} contributors");
				assert_eq!(count(Role::Validator), t.num_validators, "task {id} validators");
				assert_eq!(TaskValidators::<Test>::get(id).len() as u32, t.num_validators);
			},
			_ => {
				assert_eq!((on_account, t.escrow), (0, 0), "ended task {id} kept escrow");
				assert!(members.is_empty(), "ended task {id} kept members");
			},
		}
		for (who, m) in members {
			*bonds.entry(who).or_default() += m.bond;
		}
	}
	for who in (1..=20u8).map(acc) {
		let p = Participants::<Test>::get(&who);
		let staked = p.as_ref().map(|p| p.contributor_stake.unwrap_or(0) + p.validator_stake.unwrap_or(0)).unwrap_or(0);
		assert_eq!(Balances::balance_on_hold(&HoldReason::Stake.into(), &who), staked, "stake of {who:?}");
		assert_eq!(
			Balances::balance_on_hold(&HoldReason::TaskBond.into(), &who),
			bonds.get(&who).copied().unwrap_or(0),
			"bonds of {who:?}"
		);
		assert_eq!(
			Balances::balance_on_hold(&HoldReason::TaskDeposit.into(), &who),
			deposits.get(&who).copied().unwrap_or(0),
			"deposits of {who:?}"
		);
		if let Some(p) = p {
			assert!(p.reputation <= MAX_REPUTATION);
		}
	}
}

fn random_spec(rng: &mut Rng) -> TaskSpec<Balance> {
	TaskSpec {
		rounds: 1 + rng.below(3) as u32,
		min_contributors: 1 + rng.below(2) as u32,
		max_contributors: 2 + rng.below(4) as u32,
		max_validators: 2 + rng.below(4) as u32,
		min_validators: 1 + rng.below(2) as u32,
		reward_per_round: 1_000 + rng.below(5_000) as Balance,
		validator_share: Permill::from_percent(rng.below(101) as u32),
		quorum: Permill::from_percent(1 + rng.below(100) as u32),
		contributor_bond: MIN_CONTRIBUTOR_BOND + rng.below(100) as Balance,
		validator_bond: MIN_VALIDATOR_BOND + rng.below(1_000) as Balance,
		admission: if rng.below(4) == 0 { Admission::AllowList } else { Admission::Open },
		enrol_blocks: 1 + rng.below(8) as u32,
		commit_blocks: 1 + rng.below(8) as u32,
		reveal_blocks: 1 + rng.below(8) as u32,
		vote_blocks: 1 + rng.below(8) as u32,
		vote_reveal_blocks: 1 + rng.below(8) as u32,
		attest_blocks: 1 + rng.below(8) as u32,
		max_retries: rng.below(3) as u32,
		max_idle_rounds: rng.below(3) as u32,
		..spec()
	}
}

/// The deterministic vote of `validator` in the current attempt of task `id` (a function of
/// who votes, so that commit and reveal agree).
fn random_vote(validator: u8, id: TaskId, round: RoundIndex) -> Vec<Verdict> {
	let mut rng = Rng(((validator as u64) << 32 | (id as u64) << 16 | round as u64).wrapping_mul(0x9E37_79B9) | 1);
	let count = SubmissionCount::<Test>::get((id, round));
	(0..count)
		.filter(|i| {
			Submissions::<Test>::get((id, round), i).map(|s| s.status) == Some(SubmissionStatus::Revealed)
		})
		.map(|i| Verdict {
			submission: i,
			accept: rng.below(4) != 0,
			score: rng.below(10_001) as u32,
			// Mostly the probe of an evaluating validator, sometimes one off it.
			probe: rng.pick(&[PROBE, PROBE, PROBE + 1_000, 0]),
		})
		.collect()
}

/// One random step: mostly the call the task's phase expects, by a plausible caller, sometimes
/// anything by anybody (refusals must leave the state untouched, which the invariants check).
fn random_step(rng: &mut Rng) {
	let people: Vec<u8> = (2..=20).collect();
	let roles = [Role::Contributor, Role::Validator];
	let active: Vec<TaskId> = (0..NextTaskId::<Test>::get())
		.filter(|id| task(*id).status == TaskStatus::Active)
		.collect();
	let id = if active.is_empty() || rng.below(20) == 0 {
		rng.below(NextTaskId::<Test>::get() as u64 + 1) as TaskId
	} else {
		rng.pick(&active)
	};
	let members: Vec<(u8, Role)> =
		Members::<Test>::iter_prefix(id).map(|(who, m)| (first_byte(&who), m.role)).collect();
	let contributors: Vec<u8> =
		members.iter().filter(|(_, r)| *r == Role::Contributor).map(|(w, _)| *w).collect();
	let validators: Vec<u8> =
		members.iter().filter(|(_, r)| *r == Role::Validator).map(|(w, _)| *w).collect();
	let any = rng.pick(&people);
	let contributor = if contributors.is_empty() || rng.below(10) == 0 { any } else { rng.pick(&contributors) };
	let validator = if validators.is_empty() || rng.below(10) == 0 { any } else { rng.pick(&validators) };
	let t = Tasks::<Test>::get(id);
	let round = t.as_ref().map(|t| t.round).unwrap_or(0) + if rng.below(20) == 0 { 1 } else { 0 };
	let retries = t.as_ref().map(|t| t.retries).unwrap_or(0);
	let phase = t.as_ref().map(|t| t.phase).unwrap_or(Phase::Enrol);
	let action = match (rng.below(12), phase) {
		(0, _) => rng.below(20),
		(11, _) if rng.below(4) == 0 => 5,
		(1..=7, Phase::Enrol) => 3,
		(1..=2, Phase::Commit) => 3,
		(_, Phase::Commit) => 6,
		(_, Phase::Reveal) => 7,
		(_, Phase::VoteCommit) => 8,
		(_, Phase::VoteReveal) => 9,
		(1..=2, Phase::Aggregate) => 10,
		(3..=7, Phase::Aggregate) => 11,
		(_, Phase::Aggregate) => 12,
		_ => 19,
	};
	let hash = |who: u8| H256::from_low_u64_be(((who as u64) << 24) | ((id as u64) << 16) | ((round as u64) << 8) | retries as u64);
	let _ = match action {
		0 => DecentralMl::register(origin(any), rng.pick(&roles), 100 + rng.below(300) as Balance, [any; 32]),
		1 => DecentralMl::deregister(origin(any), rng.pick(&roles)),
		2 if active.len() < 4 => DecentralMl::create_task(origin(if rng.below(2) == 0 { CREATOR } else { any }), random_spec(rng)),
		3 | 4 => {
			let role = rng.pick(&roles);
			let stake = if role == Role::Contributor { MIN_CONTRIBUTOR_STAKE } else { MIN_VALIDATOR_STAKE };
			let _ = DecentralMl::register(origin(any), role, stake, [any; 32]);
			let bond = t.as_ref().map(|t| match role {
				Role::Contributor => t.spec.contributor_bond,
				Role::Validator => t.spec.validator_bond,
			}).unwrap_or(100) + rng.below(2_000) as Balance;
			DecentralMl::join_task(origin(any), id, role, bond)
		},
		5 => DecentralMl::cancel_task(origin(t.as_ref().map(|t| first_byte(&t.creator)).unwrap_or(any)), id)
			.map(|_| ())
			.map_err(|e| e.error),
		6 => {
			let c = DecentralMl::update_commitment(id, round, retries, &acc(contributor), &hash(contributor), EXAMPLES, &salt(contributor));
			DecentralMl::commit_update(origin(contributor), id, round, c)
		},
		7 => DecentralMl::reveal_update(
			origin(contributor),
			id,
			round,
			cid("u"),
			hash(contributor),
			if rng.below(10) == 0 { EXAMPLES + 1 } else { EXAMPLES },
			if rng.below(8) == 0 { salt(contributor ^ 1) } else { salt(contributor) },
		),
		8 => {
			let verdicts = random_vote(validator, id, round);
			let c = DecentralMl::vote_commitment(id, round, retries, &acc(validator), &verdicts, &salt(validator));
			DecentralMl::commit_vote(origin(validator), id, round, c)
		},
		9 => {
			let verdicts = random_vote(validator, id, round);
			let s = if rng.below(8) == 0 { salt(validator ^ 1) } else { salt(validator) };
			DecentralMl::reveal_vote(origin(validator), id, round, verdicts, s)
		},
		10 => DecentralMl::propose_aggregate(origin(validator), id, round, cid("agg"), h(1 + rng.below(3) as u8)),
		11 => {
			let hash = h(1 + rng.below(2) as u8);
			DecentralMl::attest_aggregate(origin(validator), id, round, cid("agg"), hash, rng.below(10_001) as u32)
		},
		12 => DecentralMl::finalize_round(origin(any), id, round).map(|_| ()).map_err(|e| e.error),
		13 => DecentralMl::leave_task(origin(if rng.below(2) == 0 { contributor } else { validator }), id),
		14 => {
			let accounts: BoundedVec<AccountId, _> = vec![acc(any), acc(rng.pick(&people))].try_into().unwrap();
			let creator = t.as_ref().map(|t| first_byte(&t.creator)).unwrap_or(any);
			DecentralMl::set_allowed(origin(creator), id, accounts, rng.below(4) != 0)
		},
		15 => DecentralMl::purge_task(origin(any), id, 1 + rng.below(20) as u32).map(|_| ()).map_err(|e| e.error),
		_ => {
			System::set_block_number(System::block_number() + 1 + rng.below(3));
			Ok(())
		},
	};
}

#[test]
fn issuance_holds_and_escrow_are_conserved_over_random_call_sequences_with_bonds_and_slashes() {
	let mut seen = std::collections::BTreeMap::<String, u32>::new();
	for seed in 1..=16u64 {
		new_test_ext().execute_with(|| {
			let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
			let issuance = Balances::total_issuance();
			for _ in 0..600 {
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
	for name in [
		"RoundFinalized",
		"RoundFailed",
		"RewardPaid",
		"Slashed",
		"TaskFinished",
		"TaskCancelled",
		"CancelScheduled",
		"TaskLeft",
		"TaskPurged",
		"VoteRevealed",
		"ModelAdopted",
	] {
		assert!(seen.get(name).copied().unwrap_or(0) > 0, "no {name} in the random runs: {seen:?}");
	}
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
		let spec = TaskSpec { rounds: 1, max_contributors: c, max_validators: v, min_validators: 1, ..spec() };
		assert_ok!(DecentralMl::create_task(origin(CREATOR), spec));
		let contributors: Vec<AccountId> = (0..c).map(big).collect();
		let validators: Vec<AccountId> = (c..c + v).map(big).collect();
		for (who, role, stake, bond) in contributors
			.iter()
			.map(|w| (w, Role::Contributor, MIN_CONTRIBUTOR_STAKE, C_BOND))
			.chain(validators.iter().map(|w| (w, Role::Validator, MIN_VALIDATOR_STAKE, V_BOND)))
		{
			Balances::set_balance(who, ENDOWMENT);
			let o = RuntimeOrigin::signed(who.clone());
			assert_ok!(DecentralMl::register(o.clone(), role, stake, [0; 32]));
			assert_ok!(DecentralMl::join_task(o, 0, role, bond));
		}
		assert_eq!(task(0).phase, Phase::Commit);
		let time = |f: &mut dyn FnMut()| {
			let start = Instant::now();
			f();
			start.elapsed().as_secs_f64() * 1e6
		};
		let salt = [1u8; 32];
		let mut commit_us = 0.0;
		for (i, who) in contributors.iter().enumerate() {
			let c = DecentralMl::update_commitment(0, 0, 0, who, &H256::from_low_u64_be(i as u64), EXAMPLES, &salt);
			commit_us += time(&mut || { assert_ok!(DecentralMl::commit_update(RuntimeOrigin::signed(who.clone()), 0, 0, c)); });
		}
		for (i, who) in contributors.iter().enumerate() {
			assert_ok!(DecentralMl::reveal_update(
				RuntimeOrigin::signed(who.clone()),
				0,
				0,
				cid("u"),
				H256::from_low_u64_be(i as u64),
				EXAMPLES,
				salt
			));
		}
		let all: Vec<Verdict> = (0..c).map(|i| Verdict { submission: i, accept: true, score: 1, probe: PROBE }).collect();
		for who in validators.iter() {
			let c = DecentralMl::vote_commitment(0, 0, 0, who, &all, &salt);
			assert_ok!(DecentralMl::commit_vote(RuntimeOrigin::signed(who.clone()), 0, 0, c));
		}
		let mut vote_us = 0.0f64;
		for who in validators.iter() {
			let verdicts = all.clone();
			vote_us = vote_us.max(time(&mut || { assert_ok!(DecentralMl::reveal_vote(RuntimeOrigin::signed(who.clone()), 0, 0, verdicts.clone(), salt)); }));
		}
		assert_ok!(DecentralMl::propose_aggregate(RuntimeOrigin::signed(validators[0].clone()), 0, 0, cid("a"), h(1)));
		for who in validators.iter() {
			assert_ok!(DecentralMl::attest_aggregate(RuntimeOrigin::signed(who.clone()), 0, 0, cid("a"), h(1), 1));
		}
		let finalize_us = time(&mut || { assert_ok!(DecentralMl::finalize_round(origin(30), 0, 0)); });
		assert_eq!(task(0).status, TaskStatus::Finished);
		let weight_us = |w: frame_support::weights::Weight| w.ref_time() as f64 / 1e6;
		let rows = [
			("commit_update (mean)", commit_us / c as f64, weight_us(<() as crate::weights::WeightInfo>::commit_update())),
			("reveal_vote(256) (max)", vote_us, weight_us(<() as crate::weights::WeightInfo>::reveal_vote(256))),
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

// ---------------------------------------------------------------- errors

fn res(r: frame_support::dispatch::DispatchResultWithPostInfo) -> sp_runtime::DispatchResult {
	r.map(|_| ()).map_err(|e| e.error)
}

/// In a fresh state: a call that returns the error named `name`, and the error expected.
fn reach(name: &str) -> (Err, sp_runtime::DispatchResult) {
	use crate::Error as X;
	let with_spec = |spec: TaskSpec<Balance>| DecentralMl::create_task(origin(CREATOR), spec);
	let aggregate = || {
		let id = default_task();
		default_round_until_aggregate(id);
		id
	};
	let reveal_phase = || {
		let id = default_task();
		for c in [11, 12, 13] {
			commit(c, id, 0);
		}
		assert_eq!(task(id).phase, Phase::Reveal);
		id
	};
	let ballot = || v(&[(true, 3_000), (true, 2_000), (false, 0)]);
	let err = match name {
		"UnknownTask" => X::UnknownTask,
		"TaskNotActive" => X::TaskNotActive,
		"TaskStillActive" => X::TaskStillActive,
		"WrongRound" => X::WrongRound,
		"WrongPhase" => X::WrongPhase,
		"CommitDeadlinePassed" => X::CommitDeadlinePassed,
		"AggregationClosed" => X::AggregationClosed,
		"NotMember" => X::NotMember,
		"NotContributor" => X::NotContributor,
		"NotInElectorate" => X::NotInElectorate,
		"NotYetEligible" => X::NotYetEligible,
		"AlreadyJoined" => X::AlreadyJoined,
		"CreatorCannotJoin" => X::CreatorCannotJoin,
		"NotAllowed" => X::NotAllowed,
		"ReputationTooLow" => X::ReputationTooLow,
		"BondTooLow" => X::BondTooLow,
		"TaskFull" => X::TaskFull,
		"AlreadyLeaving" => X::AlreadyLeaving,
		"NotRegistered" => X::NotRegistered,
		"AlreadyRegistered" => X::AlreadyRegistered,
		"HasOpenCommitments" => X::HasOpenCommitments,
		"StakeTooLow" => X::StakeTooLow,
		"InsufficientBalance" => X::InsufficientBalance,
		"RewardTooLow" => X::RewardTooLow,
		"InvalidSpec" => X::InvalidSpec,
		"RetriesTooHigh" => X::RetriesTooHigh,
		"IdleRoundsTooHigh" => X::IdleRoundsTooHigh,
		"ServerLearningRateInvalid" => X::ServerLearningRateInvalid,
		"ServerDecayInvalid" => X::ServerDecayInvalid,
		"ServerTauZero" => X::ServerTauZero,
		"ClaimedWeightingNeedsClosedAdmission" => X::ClaimedWeightingNeedsClosedAdmission,
		"NotTaskCreator" => X::NotTaskCreator,
		"CancelPending" => X::CancelPending,
		"AlreadyCommitted" => X::AlreadyCommitted,
		"NoCommitment" => X::NoCommitment,
		"AlreadyRevealed" => X::AlreadyRevealed,
		"CommitmentMismatch" => X::CommitmentMismatch,
		"DuplicateUpdate" => X::DuplicateUpdate,
		"NoExamples" => X::NoExamples,
		"AlreadyVoted" => X::AlreadyVoted,
		"VotesSealed" => X::VotesSealed,
		"NoVoteCommitment" => X::NoVoteCommitment,
		"VoteMismatch" => X::VoteMismatch,
		"IncompleteVote" => X::IncompleteVote,
		"TooManyVerdicts" => X::TooManyVerdicts,
		"InvalidScore" => X::InvalidScore,
		"DuplicateProposal" => X::DuplicateProposal,
		"AlreadyProposed" => X::AlreadyProposed,
		"UnknownProposal" => X::UnknownProposal,
		"ProposalMismatch" => X::ProposalMismatch,
		"AlreadyAttested" => X::AlreadyAttested,
		"RoundNotFinished" => X::RoundNotFinished,
		"BoundsExceeded" => X::BoundsExceeded,
		other => panic!("error {other} has no call that returns it: add one to `reach`"),
	};
	let result = match err {
		X::UnknownTask => DecentralMl::join_task(origin(11), 99, Role::Contributor, C_BOND),
		X::TaskNotActive => {
			let id = default_task();
			assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
			DecentralMl::leave_task(origin(11), id)
		},
		X::TaskStillActive => res(DecentralMl::purge_task(origin(30), default_task(), 10)),
		X::WrongRound => DecentralMl::commit_update(origin(11), default_task(), 1, h(1)),
		X::WrongPhase => {
			assert_ok!(with_spec(spec()));
			join(11, 0, Role::Contributor, C_BOND);
			DecentralMl::commit_update(origin(11), 0, 0, h(1))
		},
		X::CommitDeadlinePassed => DecentralMl::commit_update(origin(11), reveal_phase(), 0, h(1)),
		X::AggregationClosed => {
			let id = aggregate();
			System::set_block_number(task(id).phase_ends_at as u64);
			DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1))
		},
		X::NotMember => DecentralMl::leave_task(origin(40), default_task()),
		X::NotContributor => DecentralMl::commit_update(origin(21), default_task(), 0, h(1)),
		X::NotInElectorate => {
			let id = default_task();
			updates(id, 0, &[11, 12, 13]);
			DecentralMl::commit_vote(origin(11), id, 0, h(1))
		},
		X::NotYetEligible => {
			let id = default_task();
			join(14, id, Role::Contributor, C_BOND);
			DecentralMl::commit_update(origin(14), id, 0, commitment(14, id, 0))
		},
		X::AlreadyJoined => DecentralMl::join_task(origin(11), default_task(), Role::Contributor, C_BOND),
		X::CreatorCannotJoin => {
			let id = default_task();
			register(CREATOR, Role::Contributor);
			DecentralMl::join_task(origin(CREATOR), id, Role::Contributor, C_BOND)
		},
		X::NotAllowed | X::ReputationTooLow => {
			let admission = if matches!(err, X::NotAllowed) { Admission::AllowList } else { Admission::MinReputation(600) };
			assert_ok!(with_spec(TaskSpec { admission, ..spec() }));
			register(11, Role::Contributor);
			DecentralMl::join_task(origin(11), 0, Role::Contributor, C_BOND)
		},
		X::BondTooLow => {
			let id = default_task();
			register(14, Role::Contributor);
			DecentralMl::join_task(origin(14), id, Role::Contributor, C_BOND - 1)
		},
		X::TaskFull => {
			let id = default_task();
			join(14, id, Role::Contributor, C_BOND);
			register(15, Role::Contributor);
			DecentralMl::join_task(origin(15), id, Role::Contributor, C_BOND)
		},
		X::AlreadyLeaving => {
			let id = default_task();
			assert_ok!(DecentralMl::leave_task(origin(23), id));
			DecentralMl::leave_task(origin(23), id)
		},
		X::NotRegistered => DecentralMl::deregister(origin(40), Role::Contributor),
		X::AlreadyRegistered => {
			register(40, Role::Contributor);
			DecentralMl::register(origin(40), Role::Contributor, MIN_CONTRIBUTOR_STAKE, [0; 32])
		},
		X::HasOpenCommitments => {
			default_task();
			DecentralMl::deregister(origin(11), Role::Contributor)
		},
		X::StakeTooLow => DecentralMl::register(origin(40), Role::Contributor, MIN_CONTRIBUTOR_STAKE - 1, [0; 32]),
		X::InsufficientBalance => DecentralMl::register(origin(40), Role::Contributor, 2 * ENDOWMENT, [0; 32]),
		X::RewardTooLow => with_spec(TaskSpec { reward_per_round: MIN_REWARD - 1, ..spec() }),
		X::InvalidSpec => with_spec(TaskSpec { rounds: 0, ..spec() }),
		X::RetriesTooHigh => with_spec(TaskSpec { max_retries: 4, ..spec() }),
		X::IdleRoundsTooHigh => with_spec(TaskSpec { max_idle_rounds: 11, ..spec() }),
		X::ServerLearningRateInvalid =>
			with_spec(TaskSpec { server_optimizer: ServerOptimizer::Momentum { lr: 0, momentum: Permill::zero() }, ..spec() }),
		X::ServerDecayInvalid => with_spec(TaskSpec {
			server_optimizer: ServerOptimizer::Momentum { lr: 1_000_000, momentum: Permill::one() },
			..spec()
		}),
		X::ServerTauZero => with_spec(TaskSpec {
			server_optimizer: ServerOptimizer::Adam {
				lr: 1_000_000,
				beta1: Permill::zero(),
				beta2: Permill::zero(),
				tau: Perbill::zero(),
			},
			..spec()
		}),
		X::ClaimedWeightingNeedsClosedAdmission =>
			with_spec(TaskSpec { example_weighting: ExampleWeighting::Claimed, ..spec() }),
		X::NotTaskCreator => DecentralMl::cancel_task(origin(11), default_task()).map(|_| ()).map_err(|e| e.error),
		X::CancelPending => {
			let id = default_task();
			commit(11, id, 0);
			assert_ok!(DecentralMl::cancel_task(origin(CREATOR), id));
			res(DecentralMl::cancel_task(origin(CREATOR), id))
		},
		X::AlreadyCommitted => {
			let id = default_task();
			commit(11, id, 0);
			DecentralMl::commit_update(origin(11), id, 0, commitment(11, id, 0))
		},
		X::NoCommitment => {
			let id = default_task();
			commit(11, id, 0);
			commit(12, id, 0);
			expire(id);
			DecentralMl::reveal_update(origin(13), id, 0, cid("u"), update_hash(13, id, 0), EXAMPLES, salt(13))
		},
		X::AlreadyRevealed => {
			let id = reveal_phase();
			reveal(11, id, 0);
			DecentralMl::reveal_update(origin(11), id, 0, cid("u"), update_hash(11, id, 0), EXAMPLES, salt(11))
		},
		X::CommitmentMismatch => {
			let id = reveal_phase();
			DecentralMl::reveal_update(origin(11), id, 0, cid("u"), update_hash(11, id, 0), EXAMPLES + 1, salt(11))
		},
		X::NoExamples => {
			let id = reveal_phase();
			DecentralMl::reveal_update(origin(11), id, 0, cid("u"), update_hash(11, id, 0), 0, salt(11))
		},
		X::DuplicateUpdate => {
			let id = default_task();
			let hash = update_hash(11, id, 0);
			commit(11, id, 0);
			let own = DecentralMl::update_commitment(id, 0, 0, &acc(12), &hash, EXAMPLES, &salt(12));
			assert_ok!(DecentralMl::commit_update(origin(12), id, 0, own));
			expire(id);
			reveal(11, id, 0);
			DecentralMl::reveal_update(origin(12), id, 0, cid("u"), hash, EXAMPLES, salt(12))
		},
		X::AlreadyVoted => {
			let id = default_task();
			updates(id, 0, &[11, 12, 13]);
			commit_vote(21, id, 0, &ballot());
			DecentralMl::commit_vote(origin(21), id, 0, h(1))
		},
		X::VotesSealed => {
			let id = default_task();
			updates(id, 0, &[11, 12, 13]);
			DecentralMl::reveal_vote(origin(21), id, 0, ballot(), salt(21))
		},
		X::NoVoteCommitment | X::VoteMismatch | X::IncompleteVote | X::TooManyVerdicts => {
			let id = default_task();
			updates(id, 0, &[11, 12, 13]);
			let sent = match err {
				X::IncompleteVote => v(&[(true, 3_000), (true, 2_000)]),
				X::TooManyVerdicts => v(&[(true, 1); 257]),
				_ => ballot(),
			};
			commit_vote(21, id, 0, &sent);
			commit_vote(22, id, 0, &ballot());
			expire(id);
			assert_eq!(task(id).phase, Phase::VoteReveal);
			match err {
				X::NoVoteCommitment => DecentralMl::reveal_vote(origin(23), id, 0, ballot(), salt(23)),
				X::VoteMismatch => DecentralMl::reveal_vote(origin(21), id, 0, ballot(), salt(22)),
				_ => DecentralMl::reveal_vote(origin(21), id, 0, sent, salt(21)),
			}
		},
		X::InvalidScore => {
			let id = aggregate();
			assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
			DecentralMl::attest_aggregate(origin(22), id, 0, cid("agg"), h(1), 10_001)
		},
		X::DuplicateProposal | X::AlreadyProposed => {
			let id = aggregate();
			assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
			let (who, hash) = if matches!(err, X::DuplicateProposal) { (22, h(1)) } else { (21, h(2)) };
			DecentralMl::propose_aggregate(origin(who), id, 0, cid("agg"), hash)
		},
		X::UnknownProposal | X::ProposalMismatch | X::AlreadyAttested => {
			let id = aggregate();
			assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
			match err {
				X::UnknownProposal => DecentralMl::attest_aggregate(origin(22), id, 0, cid("agg"), h(9), 1),
				X::ProposalMismatch => DecentralMl::attest_aggregate(origin(22), id, 0, cid("other"), h(1), 1),
				_ => {
					attest(22, id, 0, h(1));
					DecentralMl::attest_aggregate(origin(22), id, 0, cid("agg"), h(1), 1)
				},
			}
		},
		X::RoundNotFinished => res(DecentralMl::finalize_round(origin(30), default_task(), 0)),
		X::BoundsExceeded => {
			NextTaskId::<Test>::put(TaskId::MAX);
			with_spec(spec())
		},
		_ => unreachable!(),
	};
	(err, result)
}

#[test]
fn every_error_is_reachable() {
	use scale_info::{TypeDef, TypeInfo};
	// Every variant of `Error<T>`, read from its type information (what the metadata shows).
	let TypeDef::Variant(def) = Err::type_info().type_def else { panic!("Error is an enum") };
	let names: Vec<&str> = def.variants.iter().map(|v| v.name).collect();
	assert!(names.len() > 40);
	for name in names {
		new_test_ext().execute_with(|| {
			let (expected, result) = reach(name);
			assert_eq!(result, Err(expected.into()), "{name}");
		});
	}
}

#[test]
fn purge_removes_the_task_records() {
	new_test_ext().execute_with(|| {
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
