//! Weights of the DecentralMl calls.
//!
//! Derived, not benchmarked: each weight is a fixed execution cost plus the worst-case number of
//! storage reads and writes the call performs (counted from the code in `lib.rs`, including the
//! `pallet-balances` accounts and holds it touches), priced by the runtime's `DbWeight`.
//! Calls whose work grows with their input take the size as a parameter (`vote(v)`) and calls
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
	fn join_task() -> Weight;
	/// `m`: members of the task (contributors + validators) released at cancellation.
	fn cancel_task(m: u32) -> Weight;
	fn commit_update() -> Weight;
	fn reveal_update() -> Weight;
	/// `v`: verdicts in the call.
	fn vote(v: u32) -> Weight;
	/// `p`: proposals already made in the round.
	fn propose_aggregate(p: u32) -> Weight;
	/// `p`: proposals made in the round.
	fn attest_aggregate(p: u32) -> Weight;
	/// `s`: submissions of the round, `v`: validators that voted, `p`: proposals,
	/// `m`: members released when the task ends with this call (0 otherwise).
	fn finalize_round(s: u32, v: u32, p: u32, m: u32) -> Weight;
}

/// Execution time (picoseconds) charged per call on top of storage access (a whole
/// `commit_update` measured 20 µs natively with in-memory storage).
pub const BASE_EXECUTION: u64 = 20_000_000; // 20 µs
/// Execution time per item (verdict, submission, proposal, member) handled by a call: the
/// release-mode test `execution_time_of_the_worst_cases_fits_the_derived_weights` measured about
/// 18 µs per verdict of `vote(256)` and 38 µs per item of the worst `finalize_round` natively
/// with in-memory storage (which the per-item database weights below also pay for).
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
pub mod accesses {
	/// Participants, System.Account, Balances.Holds read and written.
	pub const REGISTER: (u64, u64) = (3, 3);
	/// Participants, System.Account, Balances.Holds read and written.
	pub const DEREGISTER: (u64, u64) = (3, 3);
	/// Reads NextTaskId and two accounts; writes those and Tasks.
	pub const CREATE_TASK: (u64, u64) = (3, 4);
	/// Tasks, Participants, Members read and written.
	pub const JOIN_TASK: (u64, u64) = (3, 3);
	/// Tasks and two accounts; per member: Members (drained) and Participants.
	pub const CANCEL_TASK: (u64, u64) = (3, 3);
	pub const CANCEL_TASK_PER_MEMBER: (u64, u64) = (2, 2);
	/// Reads Tasks, Members, CommitmentOf, SubmissionCount; writes Submissions, CommitmentOf,
	/// SubmissionCount, Tasks.
	pub const COMMIT_UPDATE: (u64, u64) = (4, 4);
	/// Reads Tasks, Members, CommitmentOf, Submissions, SubmissionCount; writes Submissions, Tasks.
	pub const REVEAL_UPDATE: (u64, u64) = (5, 2);
	/// Reads Tasks, Members, Votes, SubmissionCount; writes Votes, Tasks; per verdict one
	/// Submissions read and write.
	pub const VOTE: (u64, u64) = (4, 2);
	pub const VOTE_PER_VERDICT: (u64, u64) = (1, 1);
	/// Reads Tasks, Members, Proposals; writes Proposals, Tasks.
	pub const PROPOSE_AGGREGATE: (u64, u64) = (3, 2);
	/// Reads Tasks, Members, Attestations, Proposals; writes Attestations, Proposals, Tasks.
	pub const ATTEST_AGGREGATE: (u64, u64) = (4, 3);
	/// Tasks, SubmissionCount, Proposals, RoundSummaries, the escrow account and the creator.
	pub const FINALIZE_ROUND: (u64, u64) = (5, 5);
	/// Per submission: the submission, its contributor's reputation and account (payment), and
	/// CommitmentOf when a failed round is cleared.
	pub const FINALIZE_PER_SUBMISSION: (u64, u64) = (3, 4);
	/// Per voting validator: its votes, attestation, reputation and account.
	pub const FINALIZE_PER_VALIDATOR: (u64, u64) = (4, 4);
	/// Per proposal: the proposer's participant record, hold and account (penalty).
	pub const FINALIZE_PER_PROPOSAL: (u64, u64) = (3, 3);
	/// Per member released when the task ends: Members and Participants.
	pub const FINALIZE_PER_MEMBER: (u64, u64) = (2, 2);
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
		fn join_task() -> Weight {
			calc($db, 0, accesses::JOIN_TASK, &[])
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
		fn vote(v: u32) -> Weight {
			calc($db, v as u64, accesses::VOTE, &[(v as u64, accesses::VOTE_PER_VERDICT)])
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
