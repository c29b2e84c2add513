//! Random call sequences: issuance, escrow, holds and the invariants after every call.

use super::*;

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

/// After every call: total issuance is unchanged, each active task's escrow account holds
/// exactly its escrow and the existential deposit (nobody else sends funds there in the tests),
/// and the pallet's invariants hold (`do_try_state`: escrow, member counts, holds, records).
fn check_invariants(issuance: Balance) {
	assert_eq!(Balances::total_issuance(), issuance, "total issuance changed");
	for id in 0..NextTaskId::<Test>::get() {
		let t = task(id);
		if t.status == TaskStatus::Active {
			assert_eq!(escrow_balance(id), t.escrow + ED, "escrow of task {id} unaccounted");
		}
	}
	DecentralMl::do_try_state().expect("the pallet's invariants hold after every call");
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
		cohort: 0,
		committee: 0,
		audit: Permill::zero(),
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
			DecentralMl::join_task(origin(any), id, role, bond).map(|_| ()).map_err(|e| e.error)
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
		build_and_execute(|| {
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
