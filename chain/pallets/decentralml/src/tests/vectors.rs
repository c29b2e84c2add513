//! The shared test vectors of the consensus rule and the payout rule (`vectors/*.json`), which
//! `tests/protocol/test_vectors.py` feeds to the client's mirror too: one copy of each
//! scenario's figures for both.

use super::*;
use serde_json::Value;

pub(super) const CONSENSUS: &str = include_str!("../../vectors/consensus.json");
pub(super) const PAYOUT: &str = include_str!("../../vectors/payout.json");

fn parse(text: &str) -> Value {
	let doc: Value = serde_json::from_str(text).expect("a vectors file is JSON");
	// The vectors assume the mock runtime's constants (the client's defaults).
	let c = &doc["constants"];
	let ppm = |k: &str| Permill::from_parts(c[k].as_u64().unwrap() as u32);
	assert_eq!(ppm("silence_slash"), <Test as Config>::SilenceSlash::get());
	assert_eq!(ppm("verdict_slash"), <Test as Config>::VerdictSlash::get());
	assert_eq!(ppm("losing_attest_slash"), <Test as Config>::LosingAttestSlash::get());
	assert_eq!(ppm("probe_tolerance"), ProbeTolerance::get());
	assert_eq!(c["score_tolerance"].as_u64(), Some(SCORE_TOLERANCE as u64));
	assert_eq!(c["probe_floor"].as_u64(), Some(PROBE_FLOOR as u64));
	doc
}

/// The case named `name` of a vectors file.
pub(super) fn case(text: &str, name: &str) -> Value {
	let doc = parse(text);
	let found = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned();
	found.unwrap_or_else(|| panic!("no case {name}"))
}

fn int(v: &Value) -> u128 {
	v.as_u64().expect("an integer") as u128
}

fn ints(v: &Value) -> Vec<u128> {
	v.as_array().unwrap().iter().map(int).collect()
}

fn bools(v: &Value) -> Vec<bool> {
	v.as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect()
}

/// `[[submission, accept, score, probe], ...]`, or `None` for `null` (a silent member).
fn verdicts(v: &Value) -> Option<Vec<Verdict>> {
	let list = v.as_array()?;
	Some(
		list.iter()
			.map(|x| Verdict {
				submission: int(&x[0]) as u32,
				accept: x[1].as_bool().unwrap(),
				score: int(&x[2]) as u32,
				probe: int(&x[3]) as u32,
			})
			.collect(),
	)
}

/// Acceptance by stake quorum, as finalisation computes it.
fn accepted_by_quorum(quorum: u32, n: usize, votes: &[(u128, Option<Vec<Verdict>>)]) -> Vec<bool> {
	let electorate: u128 = votes.iter().map(|(b, _)| b).sum();
	let threshold = Permill::from_parts(quorum).mul_ceil(electorate);
	(0..n)
		.map(|i| {
			let stake: u128 = votes
				.iter()
				.filter_map(|(b, v)| v.as_ref().filter(|v| v[i].accept).map(|_| *b))
				.sum();
			stake > 0 && stake >= threshold
		})
		.collect()
}

#[test]
fn the_consensus_rule_gives_the_shared_vectors_figures() {
	let doc = parse(CONSENSUS);
	let cases = doc["cases"].as_array().unwrap();
	assert!(cases.len() >= 4);
	for case in cases {
		let name = case["name"].as_str().unwrap();
		let n = int(&case["submissions"]) as usize;
		let votes: Vec<(u128, Option<Vec<Verdict>>)> = case["votes"]
			.as_array()
			.unwrap()
			.iter()
			.map(|v| (int(&v["bond"]), verdicts(&v["verdicts"])))
			.collect();
		let expected = &case["expected"];
		let accepted = accepted_by_quorum(int(&case["quorum_ppm"]) as u32, n, &votes);
		assert_eq!(accepted, bools(&expected["accepted"]), "{name}: accepted");
		let voted: Vec<(u128, &[Verdict])> =
			votes.iter().filter_map(|(b, v)| v.as_ref().map(|v| (*b, &v[..]))).collect();
		let c = consensus(&accepted, &voted);
		let u128s = |v: &[u32]| v.iter().map(|x| *x as u128).collect::<Vec<_>>();
		assert_eq!(u128s(&c.probe_medians), ints(&expected["probe_medians"]), "{name}: probes");
		assert_eq!(u128s(&c.medians), ints(&expected["medians"]), "{name}: medians");
		assert_eq!(u128s(&c.matches), ints(&expected["matches"]), "{name}: matches");
		assert_eq!(c.quality, ints(&expected["quality"]), "{name}: quality");
	}
}

/// One payout case on the mock chain: contributors 11, 12, ... (submission i is 11 + i's),
/// the electorate 21, 22, ... in the vector's order, proposals then attestations as listed,
/// finalisation; then the pay, the slashes and the statuses against the vector.
pub(super) fn run_payout_case(case: &Value) {
	let name = case["name"].as_str().unwrap();
	let n = int(&case["submissions"]) as usize;
	let members = case["electorate"].as_array().unwrap();
	let seat = |k: usize| 21 + k as u8;
	let spec = TaskSpec {
		rounds: 1,
		min_contributors: int(&case["min_contributors"]) as u32,
		max_contributors: n as u32,
		min_validators: int(&case["min_validators"]) as u32,
		max_validators: members.len() as u32,
		quorum: Permill::from_parts(int(&case["quorum_ppm"]) as u32),
		validator_share: Permill::from_parts(int(&case["validator_share_ppm"]) as u32),
		reward_per_round: int(&case["reward"]),
		..spec()
	};
	let contributors: Vec<u8> = (0..n).map(|i| 11 + i as u8).collect();
	let electorate: Vec<(u8, Balance)> =
		members.iter().enumerate().map(|(k, m)| (seat(k), int(&m["bond"]))).collect();
	let id = task_with(spec, &contributors, &electorate);
	updates(id, 0, &contributors);
	let ballots: Vec<(u8, Vec<Verdict>)> = members
		.iter()
		.enumerate()
		.filter_map(|(k, m)| verdicts(&m["verdicts"]).map(|v| (seat(k), v)))
		.collect();
	votes(id, 0, &ballots);
	// Each hash named in the vector is H256::repeat_byte(k + 1), k its place in order of
	// appearance ("agg", the adopted one, first).
	let mut hashes: Vec<String> = vec![case["adopted"].as_str().unwrap().to_string()];
	let mut hash_of = |name: &str| {
		let k = hashes.iter().position(|h| h == name).unwrap_or_else(|| {
			hashes.push(name.to_string());
			hashes.len() - 1
		});
		h(k as u8 + 1)
	};
	for (k, m) in members.iter().enumerate() {
		if let Some(p) = m["proposed"].as_str() {
			assert_ok!(DecentralMl::propose_aggregate(origin(seat(k)), id, 0, cid(p), hash_of(p)));
		}
	}
	for (k, m) in members.iter().enumerate() {
		if let Some(a) = m["attested"].as_str() {
			let hash = hash_of(a);
			assert_ok!(DecentralMl::attest_aggregate(origin(seat(k)), id, 0, cid(a), hash, 8_000));
		}
	}
	if task(id).attesters < task(id).electorate_size {
		System::set_block_number(task(id).phase_ends_at as u64);
	}
	System::reset_events();
	assert_ok!(DecentralMl::finalize_round(origin(30), id, 0));
	let expected = &case["expected"];
	let statuses: Vec<bool> = (0..n as u32)
		.map(|i| Submissions::<Test>::get((id, 0), i).unwrap().status == SubmissionStatus::Accepted)
		.collect();
	assert_eq!(statuses, bools(&expected["accepted"]), "{name}: accepted");
	let contributor_pay: Vec<u128> = contributors.iter().map(|c| paid_to(*c)).collect();
	assert_eq!(contributor_pay, ints(&expected["contributor_pay"]), "{name}: contributor pay");
	for (k, m) in members.iter().enumerate() {
		let who = m["who"].as_str().unwrap();
		let slashed: Balance =
			slashes().iter().filter(|(w, ..)| *w == seat(k)).map(|(_, _, a)| a).sum();
		assert_eq!(paid_to(seat(k)), int(&expected["validator_pay"][who]), "{name}: pay of {who}");
		assert_eq!(slashed, int(&expected["slashes"][who]), "{name}: slashes of {who}");
	}
	// The settlement's quality figures, through the pure consensus of the same votes.
	let weights: Vec<(u128, Option<Vec<Verdict>>)> = members
		.iter()
		.map(|m| (int(&m["bond"]), verdicts(&m["verdicts"])))
		.collect();
	let voted: Vec<(u128, &[Verdict])> =
		weights.iter().filter_map(|(b, v)| v.as_ref().map(|v| (*b, &v[..]))).collect();
	let c = consensus(&statuses, &voted);
	let medians: Vec<u128> = c.medians.iter().map(|m| *m as u128).collect();
	assert_eq!(medians, ints(&expected["consensus_scores"]), "{name}: consensus scores");
	let mut q = c.quality.iter();
	for (m, (_, v)) in members.iter().zip(weights.iter()) {
		let quality = if v.is_some() { *q.next().unwrap() } else { 0 };
		let who = m["who"].as_str().unwrap();
		assert_eq!(quality, int(&expected["quality"][who]), "{name}: quality of {who}");
	}
}

#[test]
fn the_payout_rule_gives_the_shared_vectors_figures_on_chain() {
	let doc = parse(PAYOUT);
	let cases = doc["cases"].as_array().unwrap();
	assert!(cases.len() >= 3);
	for case in cases {
		build_and_execute(|| run_payout_case(case));
	}
}
