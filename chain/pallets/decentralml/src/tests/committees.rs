//! Cohorts and committees (`docs/committees.md`): the draws are verifiable from the chain and
//! cannot be steered without cost; committees judge, audits re-judge, pay follows the work.

use super::*;
use crate::sampling;

const CONTRIBUTORS: [u8; 6] = [11, 12, 13, 14, 15, 16];
const VALIDATORS: [u8; 6] = [21, 22, 23, 24, 25, 26];

fn sampled_spec(cohort: u32, committee: u32, audit: u32) -> TaskSpec<Balance> {
	TaskSpec {
		cohort,
		committee,
		audit: Permill::from_parts(audit),
		max_contributors: 8,
		max_validators: 8,
		..spec()
	}
}

fn sampled_task(cohort: u32, committee: u32, audit: u32) -> TaskId {
	let validators: Vec<(u8, Balance)> = VALIDATORS.iter().map(|v| (*v, V_BOND)).collect();
	task_with(sampled_spec(cohort, committee, audit), &CONTRIBUTORS, &validators)
}

fn drawn(id: TaskId) -> Vec<u8> {
	let t = task(id);
	CONTRIBUTORS.into_iter().filter(|c| DecentralMl::in_cohort(id, &t, &acc(*c))).collect()
}

/// The validators (by number) judging the update of contributor `c` in the current attempt.
fn judges_of(id: TaskId, c: u8) -> Vec<u8> {
	let electorate = Electorate::<Test>::get((id, task(id).round));
	let bonds: Vec<u128> = electorate.iter().map(|(_, b)| *b).collect();
	DecentralMl::judges_of(id, &task(id), &acc(c), &bonds)
		.into_iter()
		.map(|i| AsRef::<[u8; 32]>::as_ref(&electorate[i].0)[0])
		.collect()
}

/// The submission index of contributor `c` in round `round`.
fn index_of(id: TaskId, round: RoundIndex, c: u8) -> u32 {
	CommitmentOf::<Test>::get((id, round), acc(c)).unwrap()
}

/// Each validator's vote: `accept(c)` on every revealed update it judges, in submission order.
fn committee_votes(id: TaskId, round: RoundIndex, cs: &[u8], accept: impl Fn(u8, u8) -> bool) -> Vec<(u8, Vec<Verdict>)> {
	let mut by_index: Vec<(u32, u8)> = cs.iter().map(|c| (index_of(id, round, *c), *c)).collect();
	by_index.sort();
	VALIDATORS
		.iter()
		.map(|w| {
			let verdicts = by_index
				.iter()
				.filter(|(_, c)| judges_of(id, *c).contains(w))
				.map(|(i, c)| Verdict { submission: *i, accept: accept(*w, *c), score: 5_000, probe: PROBE })
				.collect();
			(*w, verdicts)
		})
		.collect()
}

#[test]
fn the_cohort_is_the_smallest_tickets_and_anyone_can_recompute_it() {
	build_and_execute(|| {
		let id = sampled_task(3, 0, 0);
		let t = task(id);
		// Recomputed from what the chain publishes: the draw seed and the members.
		let mut tickets: Vec<(u64, u8)> = CONTRIBUTORS
			.iter()
			.map(|c| (sampling::ticket(id, 0, 0, &t.draw_seed, &acc(*c)), *c))
			.collect();
		tickets.sort();
		let mut expected: Vec<u8> = tickets[..3].iter().map(|(_, c)| *c).collect();
		expected.sort();
		assert_eq!(drawn(id), expected);
		assert_eq!((t.cohort_size, t.cohort_cut), (3, tickets[2].0));
		has(E::CohortDrawn { task_id: id, round: 0, size: 3, cut: tickets[2].0, seed: t.draw_seed });
		// Round 0's draw mixes in the hash of the block before the opening one.
		let parent = frame_system::Pallet::<Test>::parent_hash();
		assert_eq!(t.draw_seed, sampling::mix(&t.seed, &sp_io::hashing::blake2_256(parent.as_ref())));
		// The others cannot commit; the drawn ones close the commit phase early.
		for c in CONTRIBUTORS.into_iter().filter(|c| !expected.contains(c)) {
			assert_noop!(
				DecentralMl::commit_update(origin(c), id, 0, commitment(c, id, 0)),
				Error::<Test>::NotInCohort
			);
		}
		for c in &expected {
			commit(*c, id, 0);
		}
		assert_eq!(task(id).phase, Phase::Reveal);
	});
}

#[test]
fn contributors_left_out_of_the_cohort_sit_the_round_out_at_no_cost() {
	build_and_execute(|| {
		let validators: Vec<(u8, Balance)> = VALIDATORS.iter().map(|v| (*v, V_BOND)).collect();
		let spec = TaskSpec { max_idle_rounds: 1, ..sampled_spec(3, 0, 0) };
		let id = task_with(spec, &CONTRIBUTORS, &validators);
		let cohort = drawn(id);
		let (idle, rest) = (cohort[0], &cohort[1..]);
		updates(id, 0, rest);
		let votes: Vec<(u8, Vec<Verdict>)> =
			VALIDATORS.iter().map(|w| (*w, v(&[(true, 5_000), (true, 5_000)]))).collect();
		super::votes(id, 0, &votes);
		for w in VALIDATORS {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!(task(id).round, 1);
		// The drawn contributor that did not commit was idle and lost its seat; the others kept
		// theirs, their bonds and their reputation.
		assert!(Members::<Test>::get(id, acc(idle)).is_none());
		for c in CONTRIBUTORS.into_iter().filter(|c| !cohort.contains(c)) {
			let m = Members::<Test>::get(id, acc(c)).unwrap();
			assert_eq!((m.idle_rounds, m.bond), (0, C_BOND));
			assert_eq!(Participants::<Test>::get(acc(c)).unwrap().reputation, INITIAL_REPUTATION);
			assert!(!slashes().iter().any(|(w, _, _)| *w == c));
		}
	});
}

#[test]
fn every_revealed_salt_moves_the_seed_and_withholding_one_costs_bond() {
	build_and_execute(|| {
		let id = sampled_task(4, 0, 0);
		let cohort = drawn(id);
		let before = task(id).seed;
		for c in &cohort {
			commit(*c, id, 0);
		}
		// Three reveal; the fourth withholds its salt to keep the seed where it likes it.
		let (withheld, revealing) = (cohort[3], &cohort[..3]);
		let mut seed = before;
		for c in revealing {
			reveal(*c, id, 0);
			seed = sampling::mix(&seed, &salt(*c));
		}
		assert_eq!(task(id).seed, seed);
		// Its reveal would have given another seed, hence another draw next round.
		assert_ne!(sampling::mix(&seed, &salt(withheld)), seed);
		expire(id);
		assert_eq!(task(id).phase, Phase::VoteCommit);
		assert_eq!(task(id).committee_seed, seed);
		has(E::CommitteesDrawn { task_id: id, round: 0, seed });
		let ballot = v(&[(true, 5_000), (true, 5_000), (true, 5_000)]);
		let votes: Vec<(u8, Vec<Verdict>)> = VALIDATORS.iter().map(|w| (*w, ballot.clone())).collect();
		super::votes(id, 0, &votes);
		for w in VALIDATORS {
			seed = sampling::mix(&seed, &salt(w));
		}
		for w in VALIDATORS {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!(task(id).round, 1);
		// Round 1 is drawn from every salt revealed in round 0; the withholder paid for silence.
		assert_eq!(task(id).draw_seed, seed);
		let lost = SilenceSlash::get().mul_floor(C_BOND);
		assert!(slashes().contains(&(withheld, SlashReason::Unrevealed, lost)));
	});
}

#[test]
fn each_update_is_judged_by_its_committee_alone() {
	build_and_execute(|| {
		let id = sampled_task(0, 2, 0);
		updates(id, 0, &CONTRIBUTORS);
		for c in CONTRIBUTORS {
			let judges = judges_of(id, c);
			assert_eq!(judges.len(), 2);
			assert_ne!(judges[0], judges[1]);
		}
		// 11's judges reject it, everyone else's accept theirs.
		let votes = committee_votes(id, 0, &CONTRIBUTORS, |_, c| c != 11);
		let total: usize = votes.iter().map(|(_, v)| v.len()).sum();
		assert_eq!(total, 12, "two verdicts per update, not six");
		super::votes(id, 0, &votes);
		for c in CONTRIBUTORS {
			let sub = Submissions::<Test>::get((id, 0), index_of(id, 0, c)).unwrap();
			let (accept, reject) = if c == 11 { (0, 2 * V_BOND) } else { (2 * V_BOND, 0) };
			assert_eq!((sub.accept_stake, sub.reject_stake), (accept, reject));
		}
		for w in VALIDATORS {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let summary = RoundSummaries::<Test>::get((id, 0)).unwrap();
		assert_eq!((summary.accepted, summary.rejected), (5, 1));
		// Everyone agreed with its committee: no verdict slash.
		assert!(!slashes().iter().any(|(_, r, _)| *r == SlashReason::LosingVerdicts));
	});
}

#[test]
fn committee_pay_follows_the_updates_judged_and_an_omission_loses() {
	build_and_execute(|| {
		let id = sampled_task(0, 2, 0);
		updates(id, 0, &CONTRIBUTORS);
		let mut votes = committee_votes(id, 0, &CONTRIBUTORS, |_, _| true);
		// The busiest judge skips one of its updates.
		votes.sort_by_key(|(_, v)| core::cmp::Reverse(v.len()));
		let (lazy, n_lazy) = (votes[0].0, votes[0].1.len() as u128);
		votes[0].1.pop();
		super::votes(id, 0, &votes);
		for w in VALIDATORS {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let lost = V_BOND * VerdictSlash::get().deconstruct() as u128 / (n_lazy * 1_000_000);
		assert!(slashes().contains(&(lazy, SlashReason::LosingVerdicts, lost)));
		// Pay ∝ Q_v × n_v: with Q = 1 for the diligent, pay per judged update is equal.
		let pool = Permill::from_percent(30).mul_floor(REWARD);
		let diligent: Vec<(u8, u128)> =
			votes[1..].iter().map(|(w, v)| (*w, v.len() as u128)).collect();
		let judged: u128 = diligent.iter().map(|(_, n)| n).sum();
		let paid_lazy = paid_to(lazy);
		assert!(paid_lazy > 0 && paid_lazy < pool * n_lazy / (judged + n_lazy));
		for (w, n) in diligent.iter().filter(|(_, n)| *n > 0) {
			let per = paid_to(*w) / n;
			let (_, n0) = diligent.iter().find(|(_, n)| *n > 0).unwrap();
			let per0 = paid_to(diligent.iter().find(|(_, n)| *n > 0).unwrap().0) / n0;
			assert!(per.abs_diff(per0) <= 1, "{w}: {per} per update against {per0}");
		}
	});
}

#[test]
fn an_audit_outvotes_a_captured_committee_and_slashes_it() {
	build_and_execute(|| {
		// Committee 1, half the updates audited by three judges.
		let id = sampled_task(0, 1, 500_000);
		updates(id, 0, &CONTRIBUTORS);
		let t = task(id);
		let audited: Vec<u8> = CONTRIBUTORS
			.into_iter()
			.filter(|c| sampling::audited(id, 0, 0, &t.committee_seed, &acc(*c), 500_000))
			.collect();
		assert!(!audited.is_empty() && audited.len() < CONTRIBUTORS.len());
		let junk = audited[0];
		let judges = judges_of(id, junk);
		assert_eq!(judges.len(), 3);
		// The first judge is captured and accepts the junk; the audit's other two reject it.
		let captured = judges[0];
		let votes = committee_votes(id, 0, &CONTRIBUTORS, |w, c| c != junk || w == captured);
		super::votes(id, 0, &votes);
		for w in VALIDATORS {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let sub = Submissions::<Test>::get((id, 0), index_of(id, 0, junk)).unwrap();
		assert_eq!(sub.status, SubmissionStatus::Rejected);
		assert!(slashes().iter().any(|(w, r, _)| *w == captured && *r == SlashReason::LosingVerdicts));
		// An update that is not audited is judged by one validator.
		let plain = CONTRIBUTORS.into_iter().find(|c| !audited.contains(c)).unwrap();
		assert_eq!(judges_of(id, plain).len(), 1);
	});
}

#[test]
fn judges_are_drawn_by_bond() {
	// Pure: across many contributors, a validator with three times the bond sits in about three
	// times as many single-judge committees.
	let seed = H256::repeat_byte(7);
	let bonds = [3_000u128, 1_000, 1_000, 1_000];
	let mut seats = [0u32; 4];
	for c in 0..4_000u32 {
		let j = sampling::judges(0, 0, 0, &seed, &c, &bonds, 1, 0);
		seats[j[0]] += 1;
	}
	let ratio = seats[0] as f64 / ((seats[1] + seats[2] + seats[3]) as f64 / 3.0);
	assert!((2.7..3.3).contains(&ratio), "{seats:?}");
	// Without replacement: a committee of the whole electorate holds each member once.
	let mut all = sampling::judges(0, 0, 0, &seed, &1u32, &bonds, 3, 1_000_000);
	all.sort();
	assert_eq!(all, vec![0, 1, 2, 3]);
}

#[test]
fn the_spec_rules_of_cohorts_and_committees() {
	build_and_execute(|| {
		let create = |spec| DecentralMl::create_task(origin(CREATOR), spec);
		assert_noop!(create(TaskSpec { cohort: 1, ..spec() }), Error::<Test>::InvalidSpec);
		assert_noop!(create(TaskSpec { committee: 6, ..spec() }), Error::<Test>::InvalidCommittee);
		let over = Permill::from_parts(MAX_AUDIT_PPM + 1);
		assert_noop!(create(TaskSpec { committee: 3, audit: over, ..spec() }), Error::<Test>::InvalidCommittee);
		let audit = Permill::from_percent(10);
		assert_noop!(create(TaskSpec { audit, ..spec() }), Error::<Test>::InvalidCommittee);
		let big = TaskSpec { max_contributors: 1_024, max_validators: 64, ..spec() };
		assert_noop!(create(big.clone()), Error::<Test>::CommitteeRequired);
		assert_ok!(create(TaskSpec { committee: 3, audit, cohort: 256, ..big }));
	});
}

fn bytes32(v: &serde_json::Value) -> [u8; 32] {
	let s = v.as_str().expect("0x-hex").trim_start_matches("0x");
	let mut out = [0u8; 32];
	for (i, byte) in out.iter_mut().enumerate() {
		*byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
	}
	out
}

/// The shared vectors (`vectors/sampling.json`), which `tests/protocol/test_sampling.py` feeds
/// to the client's mirror too.
#[test]
fn the_draws_match_the_shared_vectors() {
	let doc: serde_json::Value =
		serde_json::from_str(include_str!("../../vectors/sampling.json")).expect("JSON");
	let int = |v: &serde_json::Value| v.as_u64().expect("an integer");
	let mut seen = [0u32; 3];
	for case in doc["cases"].as_array().unwrap() {
		let (name, expect) = (case["name"].as_str().unwrap(), &case["expect"]);
		let ids = || (int(&case["task_id"]) as u32, int(&case["round"]) as u32, int(&case["attempt"]) as u32);
		match case["kind"].as_str().unwrap() {
			"mix" => {
				let got = sampling::mix(&H256(bytes32(&case["seed"])), &bytes32(&case["salt"]));
				assert_eq!(got, H256(bytes32(&expect["seed"])), "{name}");
				seen[0] += 1;
			},
			"cohort" => {
				let (task_id, round, attempt) = ids();
				let seed = H256(bytes32(&case["draw_seed"]));
				let eligible: Vec<[u8; 32]> = case["eligible"].as_array().unwrap().iter().map(bytes32).collect();
				let tickets: Vec<u64> =
					eligible.iter().map(|a| sampling::ticket(task_id, round, attempt, &seed, a)).collect();
				let want: Vec<u64> = expect["tickets"].as_array().unwrap().iter().map(int).collect();
				assert_eq!(tickets, want, "{name}");
				let (cut, size) = sampling::cohort_cut(tickets.clone(), int(&case["cohort"]) as u32);
				assert_eq!((cut, size as u64), (int(&expect["cut"]), int(&expect["size"])), "{name}");
				let drawn: Vec<bool> = tickets.iter().map(|t| *t <= cut).collect();
				let want: Vec<bool> = expect["drawn"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
				assert_eq!(drawn, want, "{name}");
				seen[1] += 1;
			},
			"judges" => {
				let (task_id, round, attempt) = ids();
				let seed = H256(bytes32(&case["committee_seed"]));
				let electorate: Vec<([u8; 32], u128)> = case["electorate"]
					.as_array()
					.unwrap()
					.iter()
					.map(|e| (bytes32(&e[0]), int(&e[1]) as u128))
					.collect();
				let bonds: Vec<u128> = electorate.iter().map(|(_, b)| *b).collect();
				let (committee, audit) = (int(&case["committee"]) as u32, int(&case["audit_ppm"]) as u32);
				assert_eq!(sampling::full_judging(committee, bonds.len() as u32), expect["full"].as_bool().unwrap());
				for (k, c) in case["contributors"].as_array().unwrap().iter().map(bytes32).enumerate() {
					if let Some(audited) = expect.get("audited") {
						let got = sampling::audited(task_id, round, attempt, &seed, &c, audit);
						assert_eq!(got, audited[k].as_bool().unwrap(), "{name} audit {k}");
					}
					let got: Vec<[u8; 32]> =
						sampling::judges(task_id, round, attempt, &seed, &c, &bonds, committee, audit)
							.into_iter()
							.map(|i| electorate[i].0)
							.collect();
					let want: Vec<[u8; 32]> = expect["judges"][k].as_array().unwrap().iter().map(bytes32).collect();
					assert_eq!(got, want, "{name} judges {k}");
				}
				seen[2] += 1;
			},
			other => panic!("unknown kind {other}"),
		}
	}
	assert!(seen.iter().all(|n| *n >= 2), "{seen:?}");
}

#[test]
fn a_drawn_contributor_leaving_before_it_commits_does_not_hold_up_the_commit_phase() {
	build_and_execute(|| {
		let id = sampled_task(3, 0, 0);
		let cohort = drawn(id);
		assert_ok!(DecentralMl::leave_task(origin(cohort[0]), id));
		assert_eq!(task(id).cohort_size, 2);
		commit(cohort[1], id, 0);
		commit(cohort[2], id, 0);
		assert_eq!(task(id).phase, Phase::Reveal);
	});
}

#[test]
fn a_contributor_joining_once_the_next_draw_is_known_waits_a_round_more() {
	build_and_execute(|| {
		let spec = TaskSpec { rounds: 3, ..sampled_spec(4, 0, 0) };
		let validators: Vec<(u8, Balance)> = VALIDATORS.iter().map(|v| (*v, V_BOND)).collect();
		let id = task_with(spec, &CONTRIBUTORS, &validators);
		let cohort = drawn(id);
		// Joining while the commits run: the next round's seed still hangs on unrevealed salts.
		join(17, id, Role::Contributor, C_BOND);
		assert_eq!(Members::<Test>::get(id, acc(17)).unwrap().from_round, 1);
		updates(id, 0, &cohort);
		let ballot = v(&[(true, 5_000); 4]);
		let votes: Vec<(u8, Vec<Verdict>)> = VALIDATORS.iter().map(|w| (*w, ballot.clone())).collect();
		super::votes(id, 0, &votes);
		// Every vote is revealed: round 1's draw seed is known. A contributor that ground its
		// account for a low ticket now would be drawn at once; it takes part from round 2.
		join(18, id, Role::Contributor, C_BOND);
		assert_eq!(Members::<Test>::get(id, acc(18)).unwrap().from_round, 2);
		join(27, id, Role::Validator, V_BOND);
		assert_eq!(Members::<Test>::get(id, acc(27)).unwrap().from_round, 1);
		for w in VALIDATORS {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		let t = task(id);
		assert_eq!((t.round, t.pending_contributors, t.pending_validators), (1, 1, 0));
		// Round 1's draw ranked the tickets of 11 to 17 only.
		let tickets: Vec<u64> =
			(11..=17u8).map(|c| sampling::ticket(id, 1, 0, &t.draw_seed, &acc(c))).collect();
		assert_eq!((t.cohort_cut, t.cohort_size), sampling::cohort_cut(tickets, 4));
		assert_noop!(
			DecentralMl::commit_update(origin(18), id, 1, commitment(18, id, 1)),
			Error::<Test>::NotYetEligible
		);
	});
}

#[test]
fn a_validator_on_no_committee_votes_empty_and_loses_nothing() {
	build_and_execute(|| {
		// Committees of 1 for two updates among six validators: at least four judge nothing.
		let id = sampled_task(2, 1, 0);
		let cohort = drawn(id);
		updates(id, 0, &cohort);
		let votes = committee_votes(id, 0, &cohort, |_, _| true);
		let idle: Vec<u8> = votes.iter().filter(|(_, v)| v.is_empty()).map(|(w, _)| *w).collect();
		assert!(idle.len() >= 4);
		super::votes(id, 0, &votes);
		for w in VALIDATORS {
			attest(w, id, 0, h(1));
		}
		assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
		assert_eq!(RoundSummaries::<Test>::get((id, 0)).unwrap().accepted, 2);
		for w in idle {
			assert!(!slashes().iter().any(|(s, _, _)| *s == w), "{w} slashed");
			assert_eq!(Participants::<Test>::get(acc(w)).unwrap().reputation, INITIAL_REPUTATION);
			assert_eq!(bond_of(id, w), V_BOND);
			assert_eq!(Members::<Test>::get(id, acc(w)).unwrap().idle_rounds, 0);
		}
	});
}
