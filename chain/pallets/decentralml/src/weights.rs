//! Weights of the DecentralMl calls.
//!
//! Derived, not benchmarked: each weight is a fixed execution cost plus the worst-case number of
//! storage reads and writes the call performs (counted from the code in `lib.rs`, including the
//! `pallet-balances` accounts and holds it touches), priced by the runtime's `DbWeight`.
//! Calls whose work grows with their input take the size as a parameter (`reveal_vote(v)`) and calls
//! whose size is only known after reading storage are charged their bound up front and refund
//! the difference (`finalize_round`, `cancel_task`). `docs/chain.md` explains the derivation and
//! `bench/bench_chain.md` reports the resulting numbers.

use core::marker::PhantomData;
use frame_support::weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight};

/// The weight functions of the pallet.
pub trait WeightInfo {
	fn register() -> Weight;
	fn deregister() -> Weight;
	fn create_task() -> Weight;
	/// `m`: members read when the call opens the round attempt (0 when it does not).
	fn join_task(m: u32) -> Weight;
	/// `m`: members of the task (contributors + validators) released at cancellation.
	fn cancel_task(m: u32) -> Weight;
	fn commit_update() -> Weight;
	fn reveal_update() -> Weight;
	fn commit_vote() -> Weight;
	/// `v`: verdicts in the call (one per revealed submission).
	fn reveal_vote(v: u32) -> Weight;
	/// `p`: proposals already made in the round (at most `MaxValidators`).
	fn propose_aggregate(p: u32) -> Weight;
	/// `p`: proposals made in the round (at most `MaxValidators`).
	fn attest_aggregate(p: u32) -> Weight;
	/// `s`: submissions of the round, `v`: validators of the electorate, `p`: proposals,
	/// `m`: members of the task (read, and released when the task ends with this call).
	fn finalize_round(s: u32, v: u32, p: u32, m: u32) -> Weight;
	fn leave_task() -> Weight;
	/// `a`: accounts in the call.
	fn set_allowed(a: u32) -> Weight;
	/// `k`: keys removed, `r`: rounds of the task scanned.
	fn purge_task(k: u32, r: u32) -> Weight;
}

/// Execution time (picoseconds) charged per call on top of storage access (a whole
/// `commit_update` measured 20 µs natively with in-memory storage).
pub const BASE_EXECUTION: u64 = 20_000_000; // 20 µs
/// Execution time per item (verdict, submission, proposal, member) handled by a call: the
/// release-mode test `execution_time_of_the_worst_cases_fits_the_derived_weights` measured about
/// 18 µs per verdict of the v1 `vote(256)` and 38 µs per item of the worst `finalize_round`
/// natively with in-memory storage (which the per-item database weights below also pay for);
/// `reveal_vote` does the same per-verdict work plus one commitment hash, and `finalize_round`
/// adds two in-memory medians per submission (the probes, then the evidenced scores: sorts of
/// at most 32 values each).
pub const PER_ITEM_EXECUTION: u64 = 20_000_000; // 20 µs
/// Proof size (bytes) charged per storage read: the largest item read is a `TaskInfo`
/// (under 600 bytes encoded) plus its trie path.
pub const PROOF_PER_READ: u64 = 1_024;

/// Weight from a count of items, reads and writes under the given database weights.
pub const fn derived(db: RuntimeDbWeight, items: u64, reads: u64, writes: u64) -> Weight {
	Weight::from_parts(
		BASE_EXECUTION
			.saturating_add(PER_ITEM_EXECUTION.saturating_mul(items))
			.saturating_add(db.read.saturating_mul(reads))
			.saturating_add(db.write.saturating_mul(writes)),
		PROOF_PER_READ.saturating_mul(reads),
	)
}

/// Storage accesses of each call: `(reads, writes)` for fixed parts and per-item parts.
///
/// Every call on a task first advances its phases lazily. Opening a round attempt (leaving
/// `Enrol`) reads `TaskValidators` and each validator's `Members` entry, writes `Electorate`,
/// and, for a task that draws a cohort, reads every member of the task: calls that can open an
/// attempt (`join_task`, which may fill the last seat, and `finalize_round`) carry
/// `OPEN_ATTEMPT_PER_MEMBER` per member of the runtime's bounds (`OPEN_ATTEMPT_MEMBERS`), and
/// `join_task` refunds it when it did not open one. Any other call reaching an expired `Enrol`
/// does the same bounded work, charged in `ADVANCE` for the validators only (the cohort's
/// member reads, at most 1 088, are the known undercharge of that first call).
pub mod accesses {
	/// Participants, System.Account, Balances.Holds read and written.
	pub const REGISTER: (u64, u64) = (3, 3);
	/// Participants, System.Account, Balances.Holds read and written.
	pub const DEREGISTER: (u64, u64) = (3, 3);
	/// Reads NextTaskId and two accounts and the creator's holds; writes those and Tasks.
	pub const CREATE_TASK: (u64, u64) = (4, 5);
	/// Lazy phase advance of any call on a task: SubmissionCount, and the opening of an attempt
	/// when enrolment ends (TaskValidators, Electorate).
	pub const ADVANCE: (u64, u64) = (3, 1);
	/// Opening an attempt: one Members read per validator, and per contributor for a cohort.
	pub const OPEN_ATTEMPT_PER_MEMBER: (u64, u64) = (1, 0);
	/// Members read when a call opens the attempt, at most: the runtime's `MaxContributors`
	/// (1 024) and `MaxValidators` (64).
	pub const OPEN_ATTEMPT_MEMBERS: u32 = 1_088;
	/// Tasks, Participants, Members, AllowList, TaskValidators, System.Account, Balances.Holds
	/// read; Tasks, Participants, Members, TaskValidators, System.Account, Balances.Holds written.
	/// (and Tasks twice more, for the refund of an attempt it did not open).
	pub const JOIN_TASK: (u64, u64) = (9, 6);
	/// Tasks, SubmissionCount and two accounts; per member released: Members (drained),
	/// Participants, Balances.Holds and System.Account.
	pub const CANCEL_TASK: (u64, u64) = (4, 4);
	pub const CANCEL_TASK_PER_MEMBER: (u64, u64) = (3, 3);
	/// Reads Tasks, Members, CommitmentOf, SubmissionCount; writes Submissions, CommitmentOf,
	/// SubmissionCount, Tasks.
	pub const COMMIT_UPDATE: (u64, u64) = (4, 4);
	/// Reads Tasks, Members, CommitmentOf, Submissions, UpdateHashes, SubmissionCount; writes
	/// Submissions, UpdateHashes, Tasks.
	pub const REVEAL_UPDATE: (u64, u64) = (6, 3);
	/// Reads Tasks, Electorate, VoteCommits; writes VoteCommits, Tasks.
	pub const COMMIT_VOTE: (u64, u64) = (3, 2);
	/// Reads Tasks, VoteCommits, Votes, Electorate, SubmissionCount; writes Votes, Tasks; per
	/// verdict one Submissions read and write (its accept or reject stake).
	pub const REVEAL_VOTE: (u64, u64) = (5, 2);
	pub const REVEAL_VOTE_PER_VERDICT: (u64, u64) = (1, 1);
	/// Reads Tasks, Electorate, Proposals; writes Proposals, Tasks.
	pub const PROPOSE_AGGREGATE: (u64, u64) = (3, 2);
	/// Reads Tasks, Electorate, Attestations, Proposals, ReadyToFinalize; writes Attestations,
	/// Proposals, Tasks, ReadyToFinalize.
	pub const ATTEST_AGGREGATE: (u64, u64) = (5, 4);
	/// Tasks, SubmissionCount, Proposals, Electorate, RoundSummaries, the escrow account and the
	/// creator.
	pub const FINALIZE_ROUND: (u64, u64) = (7, 6);
	/// Per submission: the submission, its contributor's reputation, account (payment) and
	/// bond (slash of an unrevealed commitment), and CommitmentOf when a failed attempt is cleared.
	pub const FINALIZE_PER_SUBMISSION: (u64, u64) = (5, 5);
	/// Per electorate validator: its vote, attestation, reputation, account, member bond and
	/// hold (slashes), and its VoteCommits entry when a failed attempt is cleared; plus opening
	/// the next attempt (its Members entry).
	pub const FINALIZE_PER_VALIDATOR: (u64, u64) = (7, 7);
	/// Per proposal: compared in memory against each validator (no storage access of its own).
	pub const FINALIZE_PER_PROPOSAL: (u64, u64) = (0, 0);
	/// Per member of the task: its Members entry read with the round's records and again when
	/// the next attempt draws a cohort, its `idle_rounds` written; and when the task ends with
	/// this call, its release (Participants, Balances.Holds, account).
	pub const FINALIZE_PER_MEMBER: (u64, u64) = (5, 3);
	/// Tasks, Members, Electorate or CommitmentOf read; Members, Tasks, TaskValidators,
	/// Participants, Balances.Holds and System.Account written when leaving at once.
	pub const LEAVE_TASK: (u64, u64) = (6, 6);
	/// Tasks read; per account one AllowList write.
	pub const SET_ALLOWED: (u64, u64) = (1, 0);
	pub const SET_ALLOWED_PER_ACCOUNT: (u64, u64) = (0, 1);
	/// Tasks, Balances.Holds and the creator's account read and written (deposit release).
	pub const PURGE_TASK: (u64, u64) = (3, 3);
	/// Per key removed: one write (and the read of the next key).
	pub const PURGE_TASK_PER_KEY: (u64, u64) = (1, 1);
	/// Per round scanned: the first-key read of each of its nine round maps.
	pub const PURGE_TASK_PER_ROUND: (u64, u64) = (9, 0);
}

/// Weights priced by the runtime's own database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);

fn calc(db: RuntimeDbWeight, items: u64, fixed: (u64, u64), per: &[(u64, (u64, u64))]) -> Weight {
	let (mut r, mut w) = fixed;
	for (n, (pr, pw)) in per {
		r = r.saturating_add(n.saturating_mul(*pr));
		w = w.saturating_add(n.saturating_mul(*pw));
	}
	derived(db, items, r, w)
}

macro_rules! impl_weights {
	($db:expr) => {
		fn register() -> Weight {
			calc($db, 0, accesses::REGISTER, &[])
		}
		fn deregister() -> Weight {
			calc($db, 0, accesses::DEREGISTER, &[])
		}
		fn create_task() -> Weight {
			calc($db, 0, accesses::CREATE_TASK, &[])
		}
		fn join_task(m: u32) -> Weight {
			calc(
				$db,
				m as u64,
				(accesses::JOIN_TASK.0 + accesses::ADVANCE.0, accesses::JOIN_TASK.1 + accesses::ADVANCE.1),
				&[(m as u64, accesses::OPEN_ATTEMPT_PER_MEMBER)],
			)
		}
		fn cancel_task(m: u32) -> Weight {
			calc($db, m as u64, accesses::CANCEL_TASK, &[(m as u64, accesses::CANCEL_TASK_PER_MEMBER)])
		}
		fn commit_update() -> Weight {
			calc($db, 0, accesses::COMMIT_UPDATE, &[])
		}
		fn reveal_update() -> Weight {
			calc($db, 0, accesses::REVEAL_UPDATE, &[])
		}
		fn commit_vote() -> Weight {
			calc($db, 0, accesses::COMMIT_VOTE, &[])
		}
		fn reveal_vote(v: u32) -> Weight {
			calc($db, v as u64, accesses::REVEAL_VOTE, &[(v as u64, accesses::REVEAL_VOTE_PER_VERDICT)])
		}
		fn propose_aggregate(p: u32) -> Weight {
			calc($db, p as u64, accesses::PROPOSE_AGGREGATE, &[])
		}
		fn attest_aggregate(p: u32) -> Weight {
			calc($db, p as u64, accesses::ATTEST_AGGREGATE, &[])
		}
		fn finalize_round(s: u32, v: u32, p: u32, m: u32) -> Weight {
			let (s, v, p, m) = (s as u64, v as u64, p as u64, m as u64);
			calc(
				$db,
				s + v + p + m,
				accesses::FINALIZE_ROUND,
				&[
					(s, accesses::FINALIZE_PER_SUBMISSION),
					(v, accesses::FINALIZE_PER_VALIDATOR),
					(p, accesses::FINALIZE_PER_PROPOSAL),
					(m, accesses::FINALIZE_PER_MEMBER),
				],
			)
		}
		fn leave_task() -> Weight {
			calc($db, 0, accesses::LEAVE_TASK, &[])
		}
		fn set_allowed(a: u32) -> Weight {
			calc($db, a as u64, accesses::SET_ALLOWED, &[(a as u64, accesses::SET_ALLOWED_PER_ACCOUNT)])
		}
		fn purge_task(k: u32, r: u32) -> Weight {
			let (k, r) = (k as u64, r as u64);
			calc(
				$db,
				k,
				accesses::PURGE_TASK,
				&[(k, accesses::PURGE_TASK_PER_KEY), (r, accesses::PURGE_TASK_PER_ROUND)],
			)
		}
	};
}

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	impl_weights!(<T as frame_system::Config>::DbWeight::get());
}

/// For tests and runtimes without database weights: priced with RocksDB weights.
impl WeightInfo for () {
	impl_weights!(RocksDbWeight::get());
}

use frame_support::traits::Get;
