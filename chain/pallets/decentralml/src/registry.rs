//! The registry of participants: registering for a role with a held stake, leaving it, and the
//! participant's counters (active tasks per role, reputation).

use crate::*;
use frame_support::pallet_prelude::*;

impl<T: Config> Pallet<T> {
	/// The smallest registration stake of `role`.
	pub fn min_stake(role: Role) -> BalanceOf<T> {
		match role {
			Role::Contributor => T::MinContributorStake::get(),
			Role::Validator => T::MinValidatorStake::get(),
		}
	}

	pub(crate) fn do_register(
		who: T::AccountId,
		role: Role,
		stake: BalanceOf<T>,
		x25519_key: [u8; 32],
	) -> DispatchResult {
		ensure!(stake >= Self::min_stake(role), Error::<T>::StakeTooLow);
		let mut info = Participants::<T>::get(&who).unwrap_or(ParticipantInfo::new(x25519_key));
		ensure!(info.stake_of(role).is_none(), Error::<T>::AlreadyRegistered);
		ensure!(Self::can_hold(&who, stake), Error::<T>::InsufficientBalance);
		*info.stake_slot(role) = Some(stake);
		info.x25519_key = x25519_key;
		Self::hold(HoldReason::Stake, &who, stake)?;
		Participants::<T>::insert(&who, info);
		Self::deposit_event(Event::Registered { who, role, stake });
		Ok(())
	}

	pub(crate) fn do_deregister(who: T::AccountId, role: Role) -> DispatchResult {
		let mut info = Participants::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		let stake = info.stake_of(role).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.tasks_of(role) == 0, Error::<T>::HasOpenCommitments);
		*info.stake_slot(role) = None;
		let released = Self::release(HoldReason::Stake, &who, stake)?;
		Participants::<T>::insert(&who, info);
		Self::deposit_event(Event::Deregistered { who, role, released });
		Ok(())
	}

	/// Count one more (`joined`) or one fewer task membership of `who` in `role`.
	pub(crate) fn count_task(who: &T::AccountId, role: Role, joined: bool) {
		Participants::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.count_task(role, joined);
			}
		});
	}

	/// One reputation point more or less for `who` (if registered).
	pub(crate) fn adjust_reputation(who: &T::AccountId, up: bool) {
		Participants::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.adjust_reputation(up);
			}
		});
	}
}
