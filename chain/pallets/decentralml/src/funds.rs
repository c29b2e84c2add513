//! Money: the three holds (`Stake`, `TaskBond`, `TaskDeposit`) on the participant's own
//! account, each task's escrow account, rewards paid from it and slashes moved into it. Every
//! movement of funds the pallet makes goes through this module.

use crate::{pallet::*, HoldReason, MemberInfo, RoundIndex, SlashReason, TaskId};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Preservation, Restriction},
	},
};
use sp_runtime::traits::{AccountIdConversion, Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// The escrow account of a task.
	pub fn escrow_account(task_id: TaskId) -> T::AccountId {
		T::PalletId::get().into_sub_account_truncating(task_id)
	}

	/// Whether `who` can put `amount` on hold and stay alive.
	pub(crate) fn can_hold(who: &T::AccountId, amount: BalanceOf<T>) -> bool {
		T::Currency::reducible_balance(who, Preservation::Preserve, Fortitude::Polite) >= amount
	}

	/// Hold `amount` of `who`'s balance for `reason`.
	pub(crate) fn hold(
		reason: HoldReason,
		who: &T::AccountId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		T::Currency::hold(&reason.into(), who, amount).map_err(|_| Error::<T>::InsufficientBalance)?;
		Ok(())
	}

	/// Release up to `amount` held from `who` for `reason`; returns what was released.
	pub(crate) fn release(
		reason: HoldReason,
		who: &T::AccountId,
		amount: BalanceOf<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		T::Currency::release(&reason.into(), who, amount, Precision::BestEffort)
	}

	/// Move a new task's escrow (its rewards plus the existential deposit) from the creator to
	/// the task's escrow account, and hold the creator's storage deposit.
	pub(crate) fn fund_task(
		task_id: TaskId,
		creator: &T::AccountId,
		total: BalanceOf<T>,
		deposit: BalanceOf<T>,
	) -> DispatchResult {
		T::Currency::transfer(creator, &Self::escrow_account(task_id), total, Preservation::Preserve)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		if !deposit.is_zero() {
			Self::hold(HoldReason::TaskDeposit, creator, deposit)?;
		}
		Ok(())
	}

	/// Pay `amount` from the task's escrow to `who` (`RewardPaid`); returns what was paid. A
	/// payment below the existential deposit to an empty account cannot be made: it stays in
	/// escrow (dust) and 0 is returned.
	pub(crate) fn pay(
		task_id: TaskId,
		round: RoundIndex,
		who: &T::AccountId,
		amount: BalanceOf<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		if amount.is_zero() {
			return Ok(amount);
		}
		if T::Currency::balance(who) < T::Currency::minimum_balance() &&
			amount < T::Currency::minimum_balance()
		{
			return Ok(Zero::zero());
		}
		T::Currency::transfer(&Self::escrow_account(task_id), who, amount, Preservation::Preserve)?;
		Self::deposit_event(Event::RewardPaid { task_id, round, who: who.clone(), amount });
		Ok(amount)
	}

	/// Move up to `amount` of a member's bond into the task's escrow (`Slashed`); returns what
	/// moved (0 for an account that is no member).
	pub(crate) fn slash(
		task_id: TaskId,
		round: RoundIndex,
		who: &T::AccountId,
		amount: BalanceOf<T>,
		reason: SlashReason,
	) -> BalanceOf<T> {
		let Some(mut member) = Members::<T>::get(task_id, who) else { return Zero::zero() };
		let amount = amount.min(member.bond);
		if amount.is_zero() {
			return amount;
		}
		let Ok(slashed) = T::Currency::transfer_on_hold(
			&HoldReason::TaskBond.into(),
			who,
			&Self::escrow_account(task_id),
			amount,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		) else {
			return Zero::zero();
		};
		member.bond = member.bond.saturating_sub(slashed);
		Members::<T>::insert(task_id, who, member);
		Self::deposit_event(Event::Slashed { task_id, round, who: who.clone(), reason, amount: slashed });
		slashed
	}

	/// Release a member's remaining bond; returns what was released.
	pub(crate) fn release_bond(who: &T::AccountId, member: &MemberInfo<BalanceOf<T>>) -> BalanceOf<T> {
		Self::release(HoldReason::TaskBond, who, member.bond).unwrap_or_default()
	}

	/// Move everything on the task's escrow account back to `creator`; returns the amount.
	pub(crate) fn refund_escrow(
		task_id: TaskId,
		creator: &T::AccountId,
	) -> Result<BalanceOf<T>, DispatchError> {
		let escrow = Self::escrow_account(task_id);
		let all = T::Currency::balance(&escrow);
		if all.is_zero() {
			return Ok(all);
		}
		T::Currency::transfer(&escrow, creator, all, Preservation::Expendable)
	}
}
