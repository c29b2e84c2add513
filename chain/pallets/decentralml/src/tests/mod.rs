//! The pallet's tests, one per rule and named after the rule, by topic; every test ends by
//! checking the pallet's invariants (`mock::build_and_execute`).

// `dml_timing` switches on the release-mode timing benchmark (`timing.rs`).
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
		cohort: 0,
		committee: 0,
		audit: Permill::zero(),
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

fn default_round_until_aggregate(id: TaskId) {
	updates(id, 0, &[11, 12, 13]);
	let ballot = v(&[(true, 3_000), (true, 2_000), (false, 0)]);
	votes(id, 0, &[(21, ballot.clone()), (22, ballot.clone()), (23, ballot)]);
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

mod registry;
mod enrol;
mod members;
mod commit_reveal;
mod votes;
mod slashes;
mod settlement;
mod incentives;
mod formats;
mod conservation;
mod committees;
#[cfg(dml_timing)]
mod timing;
mod errors;
mod vectors;
mod purge;
