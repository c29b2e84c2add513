//! The draws of a round: which contributors train (the cohort) and which validators judge each
//! update (its committee), from the task's running seed. Pure functions, no storage: the client
//! (`decentralml_client/protocol/sampling.py`) computes the same, and the shared vectors
//! (`vectors/sampling.json`) check both. `docs/committees.md` states the rules.

use crate::types::{TaskId, AUDIT_FACTOR, H256};
use alloc::vec::Vec;
use codec::Encode;
use sp_io::hashing::blake2_256;

/// The seed of a new task: `blake2_256(SCALE(*b"dml:seed", task_id, parent_hash))`.
pub fn initial_seed(task_id: TaskId, parent_hash: &impl Encode) -> H256 {
	H256((*b"dml:seed", task_id, parent_hash).using_encoded(blake2_256))
}

/// Mix a revealed salt (or any 32 bytes) into the seed: `blake2_256(seed ‖ salt)`.
pub fn mix(seed: &H256, salt: &[u8; 32]) -> H256 {
	let mut both = [0u8; 64];
	both[..32].copy_from_slice(seed.as_bytes());
	both[32..].copy_from_slice(salt);
	H256(blake2_256(&both))
}

/// A contributor's ticket in the cohort draw of an attempt: the first 8 bytes (little endian)
/// of `blake2_256(SCALE(*b"dml:cohort", task_id, round, attempt, draw_seed, who))`.
pub fn ticket(task_id: TaskId, round: u32, attempt: u32, seed: &H256, who: &impl Encode) -> u64 {
	let h = (*b"dml:cohort", task_id, round, attempt, seed, who).using_encoded(blake2_256);
	let mut b = [0u8; 8];
	b.copy_from_slice(&h[..8]);
	u64::from_le_bytes(b)
}

/// The cut of a cohort of `cohort` among `tickets` (0 = everyone): the `cohort`-th smallest
/// ticket, or `u64::MAX` when everyone is drawn; and how many are drawn.
pub fn cohort_cut(mut tickets: Vec<u64>, cohort: u32) -> (u64, u32) {
	let n = tickets.len() as u32;
	if cohort == 0 || cohort >= n {
		return (u64::MAX, n);
	}
	tickets.sort_unstable();
	(tickets[cohort as usize - 1], cohort)
}

/// Whether the update of `contributor` is audited: the first 4 bytes (little endian) of
/// `blake2_256(SCALE(*b"dml:audit", task_id, round, attempt, seed, contributor))`, modulo one
/// million, are below `audit_ppm`.
pub fn audited(
	task_id: TaskId,
	round: u32,
	attempt: u32,
	seed: &H256,
	contributor: &impl Encode,
	audit_ppm: u32,
) -> bool {
	let h = (*b"dml:audit", task_id, round, attempt, seed, contributor).using_encoded(blake2_256);
	let mut b = [0u8; 4];
	b.copy_from_slice(&h[..4]);
	u32::from_le_bytes(b) % 1_000_000 < audit_ppm
}

/// Whether every electorate member judges every update (no committee, or one at least as
/// large as the electorate).
pub fn full_judging(committee: u32, electorate_size: u32) -> bool {
	committee == 0 || committee >= electorate_size
}

/// The judges of the update of `contributor`: positions in `bonds` (the electorate's bonds, in
/// electorate order), in draw order. In full judging, every position in order; otherwise
/// `committee` (or `min(AUDIT_FACTOR × committee, electorate)` when audited) members drawn one by
/// one by bond without replacement: draw `j` takes the first member not yet drawn at which the
/// running sum of the remaining bonds exceeds `u128_le(blake2_256(SCALE(*b"dml:judge", task_id,
/// round, attempt, seed, contributor, j))[..16]) mod (their total)`.
#[allow(clippy::too_many_arguments)]
pub fn judges(
	task_id: TaskId,
	round: u32,
	attempt: u32,
	seed: &H256,
	contributor: &impl Encode,
	bonds: &[u128],
	committee: u32,
	audit_ppm: u32,
) -> Vec<usize> {
	let n = bonds.len() as u32;
	if full_judging(committee, n) {
		return (0..bonds.len()).collect();
	}
	let size = if audited(task_id, round, attempt, seed, contributor, audit_ppm) {
		committee.saturating_mul(AUDIT_FACTOR).min(n)
	} else {
		committee
	};
	let mut taken = alloc::vec![false; bonds.len()];
	let mut drawn = Vec::with_capacity(size as usize);
	for j in 0..size {
		let total: u128 =
			bonds.iter().zip(taken.iter()).filter(|(_, t)| !**t).map(|(b, _)| *b).sum();
		let pick = if total == 0 {
			// Only zero bonds left (never in an electorate): the first member not yet drawn.
			taken.iter().position(|t| !*t)
		} else {
			let h = (*b"dml:judge", task_id, round, attempt, seed, contributor, j)
				.using_encoded(blake2_256);
			let mut b = [0u8; 16];
			b.copy_from_slice(&h[..16]);
			let point = u128::from_le_bytes(b) % total;
			let mut sum = 0u128;
			(0..bonds.len()).filter(|i| !taken[*i]).find(|i| {
				sum += bonds[*i];
				sum > point
			})
		};
		let Some(i) = pick else { break };
		taken[i] = true;
		drawn.push(i);
	}
	drawn
}
