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
