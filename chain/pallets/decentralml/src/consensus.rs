//! The consensus rule: what the electorate's revealed votes agree on, and how far each vote is
//! from it. Pure integer arithmetic over the votes, no storage: the client's mirror
//! (`decentralml_client/protocol/consensus.py`) computes the same figures, and the shared test
//! vectors (`vectors/consensus.json`) check both.

use crate::{Config, Pallet, Verdict};
use alloc::vec::Vec;
use sp_arithmetic::Permill;
use sp_runtime::RuntimeDebug;

/// Parts per million, the unit of the agreement and closeness factors of validator pay.
pub const PPM: u128 = 1_000_000;

/// The consensus of a round's revealed votes and each voter's agreement with it (all
/// integer arithmetic; the client mirrors it exactly). See [`Pallet::consensus`].
#[derive(Clone, PartialEq, Eq, RuntimeDebug, Default)]
pub struct Consensus {
	/// Consensus score of each revealed submission, in submission order: the bond-weighted
	/// lower median score of its evidenced verdicts (0 when none is evidenced).
	pub medians: Vec<u32>,
	/// Consensus probe of each revealed submission, in submission order: the bond-weighted
	/// lower median probe of all revealed verdicts.
	pub probe_medians: Vec<u32>,
	/// Per vote, in input order: evidenced verdicts whose accept/reject matches the outcome.
	pub matches: Vec<u32>,
	/// Per vote, in input order: Q_v = A_v² × C_v, in parts per million.
	pub quality: Vec<u128>,
	/// Per vote, in input order: `n_v`, the revealed submissions it judges.
	pub assigned: Vec<u32>,
}

/// Bond-weighted lower median of `(value, bond)` pairs: sort by value, then the first value at
/// which twice the cumulative bond reaches the total bond; 0 when empty.
pub fn lower_median(mut values: Vec<(u32, u128)>) -> u32 {
	values.sort_by_key(|(value, _)| *value);
	let total: u128 = values.iter().map(|(_, b)| *b).fold(0, u128::saturating_add);
	let mut cumulative = 0u128;
	for (value, bond) in values {
		cumulative = cumulative.saturating_add(bond);
		if cumulative.saturating_mul(2) >= total {
			return value;
		}
	}
	0
}

/// Whether a verdict's `probe` is evidence of evaluation against the consensus probe `median`:
/// `|probe − median| <= max(probe_floor, probe_tolerance.mul_floor(median))`.
pub fn evidenced(probe: u32, median: u32, probe_tolerance: Permill, probe_floor: u32) -> bool {
	probe.abs_diff(median) <= probe_floor.max(probe_tolerance.mul_floor(median))
}

/// One revealed vote as the consensus reads it: the voter's bond, and per revealed submission
/// (in submission order) whether the voter judges it and its verdict on it, if any.
pub struct Judged<'a> {
	pub bond: u128,
	pub assigned: Vec<bool>,
	pub verdicts: Vec<Option<&'a Verdict>>,
}

/// The consensus of `votes` (bond, verdicts covering the `n = accepted.len()` revealed
/// submissions in order) given the accept outcome of each submission: every voter judges every
/// submission. See [`Pallet::consensus`], which documents the rule.
pub fn consensus(
	accepted: &[bool],
	votes: &[(u128, &[Verdict])],
	tolerance: u32,
	probe_tolerance: Permill,
	probe_floor: u32,
) -> Consensus {
	let n = accepted.len();
	let judged: Vec<Judged> = votes
		.iter()
		.map(|(bond, v)| Judged {
			bond: *bond,
			assigned: alloc::vec![true; n],
			verdicts: (0..n).map(|i| v.get(i)).collect(),
		})
		.collect();
	consensus_judged(accepted, &judged, tolerance, probe_tolerance, probe_floor)
}

/// The consensus of judged votes: per submission over the verdicts present; per vote over the
/// `n_v` submissions it judges, a missing verdict counting as an unevidenced one. With every
/// voter judging every submission it is [`consensus`].
pub fn consensus_judged(
	accepted: &[bool],
	votes: &[Judged],
	tolerance: u32,
	probe_tolerance: Permill,
	probe_floor: u32,
) -> Consensus {
	let n = accepted.len();
	let tolerance = tolerance.max(1);
	let mut probe_medians = Vec::with_capacity(n);
	let mut medians = Vec::with_capacity(n);
	for i in 0..n {
		let probes: Vec<(u32, u128)> =
			votes.iter().filter_map(|j| j.verdicts[i].map(|v| (v.probe, j.bond))).collect();
		let probe_median = lower_median(probes);
		let scores: Vec<(u32, u128)> = votes
			.iter()
			.filter_map(|j| j.verdicts[i].map(|v| (v, j.bond)))
			.filter(|(v, _)| evidenced(v.probe, probe_median, probe_tolerance, probe_floor))
			.map(|(v, bond)| (v.score, bond))
			.collect();
		probe_medians.push(probe_median);
		medians.push(lower_median(scores));
	}
	let (mut matches, mut quality, mut assigned) = (Vec::new(), Vec::new(), Vec::new());
	for j in votes {
		let (mut m, mut deviation, mut n_v) = (0u32, 0u128, 0u32);
		for i in (0..n).filter(|i| j.assigned[*i]) {
			n_v += 1;
			match j.verdicts[i] {
				Some(v) if evidenced(v.probe, probe_medians[i], probe_tolerance, probe_floor) => {
					if v.accept == accepted[i] {
						m += 1;
					}
					deviation += v.score.abs_diff(medians[i]).min(tolerance) as u128;
				},
				_ => deviation += tolerance as u128,
			}
		}
		let q = if n_v == 0 {
			0
		} else {
			let n_v = n_v as u128;
			let a = m as u128 * PPM / n_v;
			let c = PPM.saturating_sub(deviation * PPM / (n_v * tolerance as u128));
			(a * a / PPM) * c / PPM
		};
		matches.push(m);
		quality.push(q);
		assigned.push(n_v);
	}
	Consensus { medians, probe_medians, matches, quality, assigned }
}

impl<T: Config> Pallet<T> {
	/// Bond-weighted lower median of `(value, bond)` pairs: sort by value, then the first
	/// value at which twice the cumulative bond reaches the total bond; 0 when empty.
	pub fn lower_median(values: Vec<(u32, u128)>) -> u32 {
		lower_median(values)
	}

	/// Whether a verdict's `probe` is evidence of evaluation against the consensus probe
	/// `median`: `|probe − median| <= max(probe_floor, probe_tolerance.mul_floor(median))`.
	pub fn evidenced(probe: u32, median: u32, probe_tolerance: Permill, probe_floor: u32) -> bool {
		evidenced(probe, median, probe_tolerance, probe_floor)
	}

	/// The consensus of `votes` (bond, verdicts covering the `n = accepted.len()` revealed
	/// submissions in order) given the accept outcome of each submission. Per submission `i`:
	///
	/// - the consensus probe `p_i` is the bond-weighted lower median of all votes' probes;
	/// - verdict `(v, i)` is **evidenced** when `|probe_vi − p_i| <= max(probe_floor,
	///   probe_tolerance.mul_floor(p_i))`;
	/// - the consensus score `m_i` is the bond-weighted lower median of the scores of the
	///   evidenced verdicts only (0 when none is), so unevidenced scores cannot set it.
	///
	/// Per vote: `matches_v` counts the evidenced verdicts whose accept/reject equals the
	/// outcome; the deviation sums `min(|score_vi − m_i|, tolerance)` over evidenced verdicts
	/// and `tolerance` (the most) over unevidenced ones; `A_v = matches_v × 1e6 / n`,
	/// `C_v = 1e6 − deviation × 1e6 / (n × tolerance)` and `Q_v = (A_v² / 1e6) × C_v / 1e6`.
	/// A verdict whose probe is off the consensus probe thus counts as a losing verdict: it
	/// earns nothing and costs bond (finalisation slashes `VerdictSlash × (n − matches_v) / n`).
	pub fn consensus(
		accepted: &[bool],
		votes: &[(u128, &[Verdict])],
		tolerance: u32,
		probe_tolerance: Permill,
		probe_floor: u32,
	) -> Consensus {
		consensus(accepted, votes, tolerance, probe_tolerance, probe_floor)
	}
}
