"""``decentralml account``: balances, and the dev chain's faucet."""

from __future__ import annotations

import typer

from decentralml_client.cli._common import (
    State,
    YesOpt,
    confirm_send,
    connect,
    emit,
    errors_to_exit,
    fail,
    fmt_units,
    out,
    parse_units,
    state,
)

app = typer.Typer(help="Balances and the dev faucet.", no_args_is_help=True)


@app.command("balance")
def balance(ctx: typer.Context,
            address: str = typer.Argument(..., help="SS58 address or key name.")) -> None:
    """Free and reserved (staked) balance of an account."""
    st = state(ctx)
    address = _resolve(st, address)
    with errors_to_exit(), connect(st) as chain:
        acct = chain.account(address)
    emit(st, {"address": address, **acct}, lambda: out.print(
        f"{address}\n  free     {fmt_units(acct['free'])}\n"
        f"  reserved {fmt_units(acct['reserved'])}"))


@app.command("faucet")
def faucet(ctx: typer.Context, address: str = typer.Argument(..., help="SS58 address or key name."),
           amount: str = typer.Option("1000", help="Amount in DML."),
           yes: bool = YesOpt) -> None:
    """Send dev tokens from //Alice (dev chain only)."""
    from decentralml_client.keys import dev_account

    st = state(ctx)
    address = _resolve(st, address)
    value = parse_units(amount)
    with errors_to_exit(), connect(st) as chain:
        if chain.substrate.chain and "dev" not in str(chain.substrate.chain).lower() and \
                "local" not in str(chain.substrate.chain).lower():
            fail(f"the faucet is for the dev chain only (this chain is {chain.substrate.chain})")
        alice, params = dev_account("alice"), {"dest": address, "value": value}
        confirm_send(chain, alice, f"send {fmt_units(value)} from the dev account alice to "
                     f"{address}", "transfer_keep_alive", params, yes=yes, pallet="Balances")
        chain.submit(alice.keypair, "transfer_keep_alive", params, pallet="Balances")
        free = chain.free_balance(address)
    emit(st, {"address": address, "sent": value, "free": free},
         lambda: out.print(f"sent {fmt_units(value)} to {address}; free {fmt_units(free)}"))


def _resolve(st: State, who: str) -> str:
    from decentralml_client.keys import Keystore

    ks = Keystore(st.settings.keystore)
    if ks.exists(who):
        return ks.export_public(who).ss58_address
    return who
