//! The release-mode timing of the worst cases (cfg `dml_timing`).

use super::*;

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
	build_and_execute(|| {
		let (c, v) = (1_024u32, 64u32);
		// The largest task: every contributor drawn (the draw still ranks all tickets), committees
		// of 3, 10 % audited.
		let spec = TaskSpec {
			rounds: 1,
			max_contributors: c,
			max_validators: v,
			min_validators: 1,
			cohort: c,
			committee: 3,
			audit: Permill::from_percent(10),
			..spec()
		};
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
		// Each validator votes on the updates it judges.
		let electorate = Electorate::<Test>::get((0, 0));
		let bonds: Vec<u128> = electorate.iter().map(|(_, b)| *b).collect();
		let mut ballots: Vec<Vec<Verdict>> = vec![Vec::new(); v as usize];
		for i in 0..c {
			let sub = Submissions::<Test>::get((0, 0), i).unwrap();
			for j in DecentralMl::judges_of(0, &task(0), &sub.contributor, &bonds) {
				ballots[j].push(Verdict { submission: i, accept: true, score: 1, probe: PROBE });
			}
		}
		for ((who, _), verdicts) in electorate.iter().zip(ballots.iter()) {
			let c = DecentralMl::vote_commitment(0, 0, 0, who, verdicts, &salt);
			assert_ok!(DecentralMl::commit_vote(RuntimeOrigin::signed(who.clone()), 0, 0, c));
		}
		let (mut vote_us, mut vote_n) = (0.0f64, 0u32);
		for ((who, _), verdicts) in electorate.iter().zip(ballots.iter()) {
			let us = time(&mut || { assert_ok!(DecentralMl::reveal_vote(RuntimeOrigin::signed(who.clone()), 0, 0, verdicts.clone(), salt)); });
			if us > vote_us {
				(vote_us, vote_n) = (us, verdicts.len() as u32);
			}
		}
		let judged: usize = ballots.iter().map(|b| b.len()).sum();
		println!("verdicts per vote: mean {:.1}, max {}", judged as f64 / v as f64, ballots.iter().map(|b| b.len()).max().unwrap());
		assert_ok!(DecentralMl::propose_aggregate(RuntimeOrigin::signed(validators[0].clone()), 0, 0, cid("a"), h(1)));
		for who in validators.iter() {
			assert_ok!(DecentralMl::attest_aggregate(RuntimeOrigin::signed(who.clone()), 0, 0, cid("a"), h(1), 1));
		}
		let finalize_us = time(&mut || { assert_ok!(DecentralMl::finalize_round(origin(30), 0, 0)); });
		assert_eq!(task(0).status, TaskStatus::Finished);
		let weight_us = |w: frame_support::weights::Weight| w.ref_time() as f64 / 1e6;
		let rows = [
			("commit_update (mean)", commit_us / c as f64, weight_us(<() as crate::weights::WeightInfo>::commit_update())),
			("reveal_vote (slowest)", vote_us, weight_us(<() as crate::weights::WeightInfo>::reveal_vote(vote_n))),
			(
				"finalize_round(1024, 64, 1, 1088)",
				finalize_us,
				weight_us(<() as crate::weights::WeightInfo>::finalize_round(c, v, 1, c + v)),
			),
		];
		for (name, measured, weight) in rows {
			println!("{name}: {measured:.1} µs measured natively (in-memory storage), weight {weight:.1} µs");
			assert!(measured < weight, "{name} took {measured} µs, more than its weight {weight} µs");
		}
	});
}
