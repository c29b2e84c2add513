//! Byte formats the client computes too: the escrow account and the commitments.

use super::*;

#[test]
fn the_escrow_account_is_the_pallet_id_sub_account_of_the_task_id() {
	let mut expected = [0u8; 32];
	expected[..4].copy_from_slice(b"modl");
	expected[4..12].copy_from_slice(b"dml/escr");
	expected[12..16].copy_from_slice(&7u32.to_le_bytes());
	assert_eq!(DecentralMl::escrow_account(7), AccountId::new(expected));
}

#[test]
fn the_update_commitment_binds_task_round_attempt_account_hash_examples_and_salt() {
	let mut data = Vec::new();
	data.extend_from_slice(&5u32.to_le_bytes());
	data.extend_from_slice(&6u32.to_le_bytes());
	data.extend_from_slice(&2u32.to_le_bytes());
	data.extend_from_slice(&[3u8; 32]);
	data.extend_from_slice(h(1).as_bytes());
	data.extend_from_slice(&77u64.to_le_bytes());
	data.extend_from_slice(&salt(2));
	assert_eq!(
		DecentralMl::update_commitment(5, 6, 2, &acc(3), &h(1), 77, &salt(2)),
		H256(sp_io::hashing::blake2_256(&data))
	);
}

#[test]
fn the_vote_commitment_binds_task_round_attempt_account_verdicts_and_salt() {
	let verdicts = vp(&[(true, 300, 123_456_789), (false, 10_000, 7)]);
	let mut data = Vec::new();
	data.extend_from_slice(&5u32.to_le_bytes());
	data.extend_from_slice(&6u32.to_le_bytes());
	data.extend_from_slice(&0u32.to_le_bytes());
	data.extend_from_slice(&[3u8; 32]);
	data.push(2 << 2); // compact length 2
	for (i, (accept, score, probe)) in [(1u8, 300u32, 123_456_789u32), (0, 10_000, 7)].iter().enumerate() {
		data.extend_from_slice(&(i as u32).to_le_bytes());
		data.push(*accept);
		data.extend_from_slice(&score.to_le_bytes());
		data.extend_from_slice(&probe.to_le_bytes());
	}
	data.extend_from_slice(&salt(2));
	assert_eq!(
		DecentralMl::vote_commitment(5, 6, 0, &acc(3), &verdicts, &salt(2)),
		H256(sp_io::hashing::blake2_256(&data))
	);
}
