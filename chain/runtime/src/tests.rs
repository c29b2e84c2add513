//! Runtime tests: genesis presets and the weight targets of the DecentralMl calls.

use super::*;

#[test]
fn dev_presets_fund_twelve_distinct_accounts() {
	let accounts = genesis_config_presets::dev_accounts();
	let mut sorted = accounts.clone();
	sorted.sort();
	sorted.dedup();
	assert_eq!(sorted.len(), 12);
	assert!(genesis_config_presets::get_preset(&PresetId::from("development")).is_some());
	assert!(genesis_config_presets::get_preset(&PresetId::from("local_testnet")).is_some());
}

#[test]
fn dev_genesis_builds() {
	let json = genesis_config_presets::get_preset(&PresetId::from("development")).unwrap();
	let mut storage = frame::deps::sp_runtime::Storage::default();
	let patch: serde_json::Value = serde_json::from_slice(&json).unwrap();
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	json_merge(&mut config, patch);
	let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
	frame::deps::sp_runtime::BuildStorage::assimilate_storage(&config, &mut storage).unwrap();
	assert!(!storage.top.is_empty());
}

#[test]
fn the_local_testnet_has_four_authorities_and_survives_one_failure() {
	let json = genesis_config_presets::get_preset(&PresetId::from("local_testnet")).unwrap();
	let patch: serde_json::Value = serde_json::from_slice(&json).unwrap();
	let aura = patch["aura"]["authorities"].as_array().unwrap().len();
	let grandpa = patch["grandpa"]["authorities"].as_array().unwrap().len();
	assert_eq!((aura, grandpa), (4, 4));
	// GRANDPA finalises with more than 2/3 of the authorities: N survive floor((N − 1) / 3).
	assert_eq!((grandpa - 1) / 3, 1);
}

/// Weights of the DecentralMl calls against this runtime's block budget; prints the table
/// reported in bench/bench_chain.md (`cargo test -p decentralml-runtime -- --nocapture`).
#[test]
fn block_budget_fits_a_round_of_1024_contributors_and_64_validators() {
	use frame_support::dispatch::DispatchClass;
	use pallet_decentralml::weights::{SubstrateWeight, WeightInfo};
	type W = SubstrateWeight<Runtime>;
	let block = RuntimeBlockWeights::get();
	let normal = block.get(DispatchClass::Normal);
	let budget = normal.max_total.unwrap().ref_time();
	let max_extrinsic = normal.max_extrinsic.unwrap().ref_time();
	let base = normal.base_extrinsic.ref_time();
	let per_commit = W::commit_update().ref_time() + base;
	let commits = budget / per_commit;
	let max_verdicts = (0..=100_000u32)
		.take_while(|v| W::reveal_vote(*v).ref_time() <= max_extrinsic)
		.last()
		.unwrap();
	let us = |w: Weight| w.ref_time() as f64 / 1e6;
	// Proposals are bounded by the electorate (MaxValidators).
	let (mc, mv, mp) = (1_024, 64, 64);
	let rows = [
		("register", W::register()),
		("deregister", W::deregister()),
		("create_task", W::create_task()),
		("join_task", W::join_task(0)),
		("join_task, opening the attempt (m=1088)", W::join_task(mc + mv)),
		("cancel_task(m=1088)", W::cancel_task(mc + mv)),
		("commit_update", W::commit_update()),
		("reveal_update", W::reveal_update()),
		("commit_vote", W::commit_vote()),
		("reveal_vote(v=1)", W::reveal_vote(1)),
		("reveal_vote(v=100)", W::reveal_vote(100)),
		("reveal_vote(v=58)", W::reveal_vote(58)),
		("reveal_vote(v=1024)", W::reveal_vote(1_024)),
		("propose_aggregate(p=64)", W::propose_aggregate(mp)),
		("attest_aggregate(p=64)", W::attest_aggregate(mp)),
		("finalize_round(s=3,v=3,p=1,m=0)", W::finalize_round(3, 3, 1, 0)),
		("finalize_round(s=1024,v=64,p=64,m=1088) (bound)", W::finalize_round(mc, mv, mp, mc + mv)),
		("leave_task", W::leave_task()),
		("set_allowed(a=64)", W::set_allowed(64)),
		("purge_task(k=100,r=1000)", W::purge_task(100, 1_000)),
	];
	println!("| call | ref_time (µs) | proof (bytes) | fee (UNIT) |");
	println!("|---|---:|---:|---:|");
	for (name, w) in rows {
		let fee = TransactionPayment::weight_to_fee(w + normal.base_extrinsic) as f64 / UNIT as f64;
		println!("| {name} | {:.1} | {} | {:.6} |", us(w), w.proof_size(), fee);
	}
	println!("normal-class budget per block: {:.1} ms; base extrinsic {:.1} µs; max extrinsic {:.1} ms", budget as f64 / 1e9, base as f64 / 1e6, max_extrinsic as f64 / 1e9);
	println!("commit_update per block: {commits}; verdicts one vote reveal can carry by weight: {max_verdicts} (MaxVerdicts = 1024)");
	assert!(commits >= 1_024, "only {commits} commits fit in a block");
	// A round of 1 024 updates and 64 validators with committees of 3 and 10 % audited by 9:
	// 3.6 verdicts per update on average, 57.6 per vote; every phase's extrinsics fit in one
	// block's normal budget, and so does the worst-case finalisation.
	let reveals = 1_024 * (W::reveal_update().ref_time() + base);
	let votes = 64 * (W::reveal_vote(58).ref_time() + W::commit_vote().ref_time() + 2 * base);
	let attests = 64 * (W::attest_aggregate(mp).ref_time() + base);
	println!("round of 1024 x 64, committee 3: reveals {:.1} ms, votes {:.1} ms, attestations {:.1} ms per block; finalisation bound {:.1} ms of a {:.1} ms budget", reveals as f64 / 1e9, votes as f64 / 1e9, attests as f64 / 1e9, W::finalize_round(mc, mv, mp, mc + mv).ref_time() as f64 / 1e9, budget as f64 / 1e9);
	assert!(reveals <= budget && votes <= budget && attests <= budget);
	assert!(W::join_task(mc + mv).ref_time() <= max_extrinsic);
	assert!(max_verdicts >= 100 && <<Runtime as pallet_decentralml::Config>::MaxVerdicts as Get<u32>>::get() >= 100);
	// The worst-case finalisation fits in one block too.
	assert!(W::finalize_round(mc, mv, mp, mc + mv).ref_time() <= max_extrinsic);
	assert!(W::cancel_task(mc + mv).ref_time() <= max_extrinsic);
	// Purging a task of the longest run scans all its rounds within one extrinsic.
	assert!(W::purge_task(100, 1_000).ref_time() <= max_extrinsic);
}

/// A verdict's probe is evidence within 0.1 % of the consensus probe, or within 1 000 probe
/// units (1e-6) near 0; the pallet's mock uses the same values.
#[test]
fn probe_evidence_tolerances_are_a_tenth_of_a_percent_with_a_floor_of_1000() {
	type C = <Runtime as pallet_decentralml::Config>::ProbeTolerance;
	type F = <Runtime as pallet_decentralml::Config>::ProbeFloor;
	assert_eq!(<C as Get<sp_runtime::Permill>>::get(), sp_runtime::Permill::from_parts(1_000));
	assert_eq!(<F as Get<u32>>::get(), 1_000);
}

fn json_merge(a: &mut serde_json::Value, b: serde_json::Value) {
	match (a, b) {
		(serde_json::Value::Object(a), serde_json::Value::Object(b)) =>
			for (k, v) in b {
				json_merge(a.entry(k).or_insert(serde_json::Value::Null), v);
			},
		(a, b) => *a = b,
	}
}

#[test]
fn the_slot_duration_is_read_from_the_key_chain_specs_set() {
	// decentralml_client/services/chainspec.py writes this key into raw chain specs.
	let key: String = SlotDurationMs::key().iter().map(|b| format!("{b:02x}")).collect();
	assert_eq!(key, "536b541048e46c58935e6da54d1766a9");
	frame::deps::sp_io::TestExternalities::default().execute_with(|| {
		assert_eq!(SlotDurationMs::get(), SLOT_DURATION_MS);
		frame_support::storage::unhashed::put(&SlotDurationMs::key(), &2_000u64);
		assert_eq!(<Runtime as pallet_aura::Config>::SlotDuration::get(), 2_000);
	});
}
