//! Incentives: Sybil splits, the payout rule, evidence of evaluation.

use super::*;

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
	let single = build_and_execute(|| sybil_round(&[(31, 2_400)]));
	let split = build_and_execute(|| sybil_round(&[(31, 800), (32, 800), (33, 800)]));
	// Three accounts against one: by head count they would win; by stake they do not.
	assert_eq!(single.0, SubmissionStatus::Rejected);
	assert_eq!(split.0, SubmissionStatus::Rejected);
	println!("sybil pay: one account {} vs three accounts {}", single.1, split.1);
	assert!(split.1 <= single.1);
	assert_eq!((single.1, split.1), (272, 270));
}

/// The payout scenario of the shared vectors (`vectors/payout.json`, `payout_scenario`; the
/// client's mirror checks the same figures in `tests/protocol/test_vectors.py`): run on chain
/// with the vector's figures, and the ordering the rule exists for.
#[test]
fn the_payout_rule_pays_honest_validators_more_than_accept_all_and_random_ones() {
	let payout = vectors::case(vectors::PAYOUT, "payout_scenario");
	build_and_execute(|| vectors::run_payout_case(&payout));
	let pay = &payout["expected"]["validator_pay"];
	let pay = |w: &str| pay[w].as_u64().unwrap();
	for honest in ["h1", "h2"] {
		assert!(pay(honest) > pay("accept_all") && pay(honest) > pay("random"));
	}
	// A reject-all validator in place of the random one earns a little (it is right about the
	// poisoned update) but far less than the honest ones.
	let c = vectors::case(vectors::CONSENSUS, "reject_all_in_place_of_random");
	let quality: Vec<u64> =
		c["expected"]["quality"].as_array().unwrap().iter().map(|q| q.as_u64().unwrap()).collect();
	assert!(quality[3] > 0 && quality[0] > quality[3] && quality[1] > quality[3]);
}

#[test]
fn a_vote_without_evidence_earns_nothing_and_is_slashed() {
	build_and_execute(|| {
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
	build_and_execute(|| {
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
	build_and_execute(|| {
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
