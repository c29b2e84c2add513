//! Every error of the pallet is reachable.

use super::*;

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
		"NotInCohort" => X::NotInCohort,
		"NotInCommittee" => X::NotInCommittee,
		"CommitteeRequired" => X::CommitteeRequired,
		"InvalidCommittee" => X::InvalidCommittee,
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
		"ProposalMismatch" => X::ProposalMismatch,
		"AlreadyAttested" => X::AlreadyAttested,
		"RoundNotFinished" => X::RoundNotFinished,
		"BoundsExceeded" => X::BoundsExceeded,
		other => panic!("error {other} has no call that returns it: add one to `reach`"),
	};
	let result = match err {
		X::UnknownTask => res(DecentralMl::join_task(origin(11), 99, Role::Contributor, C_BOND)),
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
		X::AlreadyJoined => res(DecentralMl::join_task(origin(11), default_task(), Role::Contributor, C_BOND)),
		X::CreatorCannotJoin => {
			let id = default_task();
			register(CREATOR, Role::Contributor);
			res(DecentralMl::join_task(origin(CREATOR), id, Role::Contributor, C_BOND))
		},
		X::NotAllowed | X::ReputationTooLow => {
			let admission = if matches!(err, X::NotAllowed) { Admission::AllowList } else { Admission::MinReputation(600) };
			assert_ok!(with_spec(TaskSpec { admission, ..spec() }));
			register(11, Role::Contributor);
			res(DecentralMl::join_task(origin(11), 0, Role::Contributor, C_BOND))
		},
		X::BondTooLow => {
			let id = default_task();
			register(14, Role::Contributor);
			res(DecentralMl::join_task(origin(14), id, Role::Contributor, C_BOND - 1))
		},
		X::TaskFull => {
			let id = default_task();
			join(14, id, Role::Contributor, C_BOND);
			register(15, Role::Contributor);
			res(DecentralMl::join_task(origin(15), id, Role::Contributor, C_BOND))
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
				X::TooManyVerdicts => v(&[(true, 1); 1_025]),
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
		X::ProposalMismatch | X::AlreadyAttested => {
			let id = aggregate();
			assert_ok!(DecentralMl::propose_aggregate(origin(21), id, 0, cid("agg"), h(1)));
			match err {
				X::ProposalMismatch => DecentralMl::attest_aggregate(origin(22), id, 0, cid("other"), h(1), 1),
				_ => {
					attest(22, id, 0, h(1));
					DecentralMl::attest_aggregate(origin(22), id, 0, cid("agg"), h(1), 1)
				},
			}
		},
		X::NotInCohort => {
			let id = task_with(TaskSpec { cohort: 2, ..spec() }, &[11, 12, 13], &[(21, V_BOND), (22, V_BOND)]);
			let out = [11, 12, 13].into_iter().find(|c| !DecentralMl::in_cohort(id, &task(id), &acc(*c))).unwrap();
			DecentralMl::commit_update(origin(out), id, 0, commitment(out, id, 0))
		},
		X::NotInCommittee => {
			let spec = TaskSpec { committee: 1, ..spec() };
			let id = task_with(spec, &[11, 12, 13], &[(21, V_BOND), (22, V_BOND), (23, V_BOND)]);
			updates(id, 0, &[11, 12, 13]);
			let bonds = [V_BOND as u128; 3];
			let judge = DecentralMl::judges_of(id, &task(id), &acc(11), &bonds)[0];
			let outsider = [21u8, 22, 23][(judge + 1) % 3];
			let sent = v(&[(true, 3_000)]);
			commit_vote(outsider, id, 0, &sent);
			expire(id);
			DecentralMl::reveal_vote(origin(outsider), id, 0, sent, salt(outsider))
		},
		X::CommitteeRequired =>
			with_spec(TaskSpec { max_contributors: 300, max_validators: 30, ..spec() }),
		X::InvalidCommittee => with_spec(TaskSpec { committee: 6, ..spec() }),
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
		build_and_execute(|| {
			let (expected, result) = reach(name);
			assert_eq!(result, Err(expected.into()), "{name}");
		});
	}
}
