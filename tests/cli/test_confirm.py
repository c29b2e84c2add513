"""Commands that move value show the fee and ask first, unless ``--yes``."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from decentralml_client.chain import UNIT as UNIT_FOR_TESTS
from decentralml_client.cli._common import YesOpt, confirm_send
from decentralml_client.keys import dev_account

runner = CliRunner()


class _Substrate:
    """The two node calls a fee estimate makes."""

    def compose_call(self, pallet: str, call: str, params: dict[str, Any]) -> tuple[str, str]:
        return pallet, call

    def get_payment_info(self, call: Any, keypair: Any) -> dict[str, int]:
        return {"partial_fee": UNIT_FOR_TESTS // 400}  # 0.0025 DML


class _Chain:
    substrate = _Substrate()


sent: list[str] = []
app = typer.Typer()


@app.command()
def send(yes: bool = YesOpt) -> None:
    confirm_send(_Chain(), dev_account("alice"), "send 5 DML to bob",  # type: ignore[arg-type]
                 "transfer_keep_alive", {}, yes=yes, pallet="Balances")
    sent.append("sent")


def test_the_fee_is_shown_and_the_answer_decides() -> None:
    sent.clear()
    no = runner.invoke(app, [], input="n\n")
    assert no.exit_code == 1 and "fee 0.0025 DML" in no.output and "not sent" in no.output
    silent = runner.invoke(app, [], input="")  # no answer is a no
    assert silent.exit_code == 1 and sent == []
    ok = runner.invoke(app, [], input="y\n")
    assert ok.exit_code == 0 and sent == ["sent"]
    yes = runner.invoke(app, ["--yes"])
    assert yes.exit_code == 0 and "fee 0.0025 DML" in yes.output and "Send it?" not in yes.output
    assert sent == ["sent", "sent"]


def test_answers_piped_to_several_commands_reach_each_in_turn(tmp_path) -> None:
    """A script answering ``y`` then ``n`` to two commands: each reads only its own line."""
    import subprocess
    import sys

    read = f"{sys.executable} -c 'from decentralml_client.cli._common import stdin_line; " \
           "print(repr(stdin_line()))'"
    done = subprocess.run(["bash", "-c", f"printf 'y\\nn\\n' | ({read}; {read}; {read})"],
                          capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["'y\\n'", "'n\\n'", "''"]
