"""Errors of the chain API, each with a message that says what to do next."""

from __future__ import annotations

import enum
import json
from pathlib import Path

from decentralml_client.errors import DecentralMLError


class ChainError(DecentralMLError, RuntimeError):
    """Base class of everything the chain API raises."""

    hint = "check the node URL (--node) and that the node runs our runtime."


class ChainUnreachable(ChainError):
    """No node answers at the configured URL."""

    hint = "start the dev chain with `decentralml devnet up`, or set --node / DML_NODE_URL."


class IncompatibleChain(ChainError):
    """The node's runtime does not offer the DecentralMl interface this client was built for."""

    hint = "connect to a node running this release's runtime, or upgrade the client."


class TransactionRejected(ChainError):
    """The node refused the transaction before inclusion (bad nonce, fees, validity)."""

    hint = "check the account's balance and that no other process signs with the same key."


class InclusionTimeout(ChainError):
    """The transaction was accepted by the node but not included in a block in time."""

    hint = "check that the node produces blocks, then retry."


class ConnectionLost(ChainUnreachable):
    """The connection to the node broke (the websocket closed, the node refused or timed out):
    every transport failure of substrate-interface and ``websocket`` becomes this one error."""

    hint = "check that the node still runs (`decentralml devnet status`); roles reconnect."


class Kind(enum.Enum):
    """What a refusal means to a role that sent the call."""

    DONE = "already done"  # the effect is there already (e.g. a commit sent before a crash)
    MISSED = "too late"  # this round attempt's chance has passed; wait for the next one
    NOT_YET = "too early"  # the chain will accept it later in the round
    FATAL = "fatal"  # the call can never succeed as sent: a user or client error


#: The kind of each DecentralMl error; any error not named here is :attr:`Kind.FATAL`.
KINDS: dict[str, Kind] = {
    **dict.fromkeys(("AlreadyCommitted", "AlreadyRevealed", "AlreadyVoted", "AlreadyAttested",
                     "AlreadyProposed", "DuplicateProposal", "AlreadyJoined",
                     "AlreadyRegistered", "AlreadyLeaving", "CancelPending"), Kind.DONE),
    **dict.fromkeys(("WrongPhase", "WrongRound", "CommitDeadlinePassed", "AggregationClosed",
                     "NotYetEligible", "NotInElectorate", "TaskFull", "DuplicateUpdate",
                     "TaskNotActive", "NotInCohort"), Kind.MISSED),
    **dict.fromkeys(("RoundNotFinished", "VotesSealed"), Kind.NOT_YET),
}


#: What to do about a refusal the hint table does not name, by its kind.
KIND_HINTS: dict[Kind, str] = {
    Kind.DONE: "nothing more to do: it is already on chain.",
    Kind.MISSED: "this round attempt is past it; take part in the next one "
                 "(`decentralml task show`).",
    Kind.NOT_YET: "try again later in the round (`decentralml task show` shows its phase).",
    Kind.FATAL: "change the call as the pallet's description above says.",
}


class PalletError(ChainError):
    """The runtime included the transaction and it failed with a named error.

    ``pallet`` and ``name`` are the runtime's names (e.g. ``DecentralMl`` / ``WrongPhase``);
    ``docs`` is the runtime's own description; ``kind`` what it means to the caller; the
    message adds what to do about it. Each DecentralMl error of the pallet interface
    (``pallet_abi/decentralml.json``) has its own subclass (:data:`PALLET_ERRORS`), made from
    the interface when this module is imported: ``PalletError("DecentralMl", "WrongPhase")``
    is an instance of ``PALLET_ERRORS["WrongPhase"]``.
    """

    kind: Kind = Kind.FATAL
    abi_docs: str = ""

    def __new__(cls, pallet: str, name: str, docs: str = "", call: str = "") -> PalletError:
        if cls is PalletError and pallet == PALLET and name in PALLET_ERRORS:
            cls = PALLET_ERRORS[name]
        return super().__new__(cls)

    def __init__(self, pallet: str, name: str, docs: str = "", call: str = "") -> None:
        self.pallet = pallet
        self.name = name
        self.docs = docs.strip() or self.abi_docs
        self.call = call
        self.kind = KINDS.get(name, Kind.FATAL) if pallet == PALLET else Kind.FATAL
        self.hint = HINTS.get(name) or KIND_HINTS[self.kind]
        where = f"{call}: " if call else ""
        text = f"{where}{pallet}.{name}"
        if self.docs:
            text += f" — {self.docs}"
        text += f" What to do: {self.hint}"
        super().__init__(text)


PALLET = "DecentralMl"
#: The pallet interface this client was built for (package data; ``make abi`` writes it).
ABI_FILE = Path(__file__).resolve().parent / "pallet_abi" / "decentralml.json"


def _error_classes(path: Path = ABI_FILE) -> dict[str, type[PalletError]]:
    """One :class:`PalletError` subclass per error of the pallet interface, named after it,
    carrying its kind and the interface's docs."""
    errors = json.loads(path.read_text()).get("errors", [])
    return {e["name"]: type(e["name"], (PalletError,), {
        "__doc__": e.get("docs") or e["name"], "__module__": __name__,
        "kind": KINDS.get(e["name"], Kind.FATAL), "abi_docs": e.get("docs", ""),
        "hint": HINTS.get(e["name"]) or KIND_HINTS[KINDS.get(e["name"], Kind.FATAL)]})
        for e in errors}


# What a user can do about a refusal, where the pallet's own docs (the ABI) do not say it.
# Keys are pallet error names (any pallet).
HINTS: dict[str, str] = {
    # DecentralMl
    "WrongPhase": "wait for the round's phase that accepts this call (`decentralml task show`).",
    "NotMember": "join the task first with `decentralml task join` (or `contribute`/`validate`).",
    "NotRegistered": "register the account first with `decentralml register`.",
    "AlreadyRegistered": "the account already has this role; use it, or `deregister` first.",
    "AlreadyCommitted": "this account already committed an update for this round; reveal it.",
    "CommitDeadlinePassed": "the commit phase is over; take part in the next round.",
    "RoundNotFinished": "the round is still running; finalise after its deadline or once a model "
    "is adopted.",
    "NotYetEligible": "you joined during a round: you take part from the next round on.",
    "VotesSealed": "votes are revealed only after the vote-commit window closes; wait for "
    "the VoteReveal phase.",
    "TaskStillActive": "purge a task only after it finished or was cancelled.",
    "CommitmentMismatch": "reveal the exact update hash and salt that were committed "
    "(the contributor's journal keeps them).",
    "AlreadyVoted": "each validator votes once per round; nothing more to do.",
    "AlreadyAttested": "each validator attests once per round; nothing more to do.",
    "StakeTooLow": "stake at least the role's minimum (see `decentralml account balance`).",
    "RewardTooLow": "offer a larger reward per round (at least the chain's minimum).",
    "UnknownTask": "check the task id with `decentralml task list`.",
    "TaskFull": "the task has all the participants it accepts; choose another task.",
    "WrongRound": "the task is in another round now; fetch its state and retry.",
    "HasOpenCommitments": "finish or leave your tasks before deregistering.",
    "InvalidSpec": "fix the task specification (see docs/chain.md for the limits; a cohort "
    "is 0 or at least --min-contributors).",
    "NotContributor": "join the task as a contributor first.",
    "AlreadyJoined": "the account is already a member of this task in that role.",
    "NoCommitment": "commit an update in the commit phase before revealing it.",
    "AlreadyRevealed": "the update is already revealed; nothing more to do this round.",
    "DuplicateProposal": "this aggregate is already proposed: attest it instead.",
    "AlreadyProposed": "this account already proposed another aggregate for the round; "
                       "attest that one, or an existing proposal.",
    "BoundsExceeded": "a value is over the chain's limits (see docs/chain.md).",
    "CreatorCannotJoin": "a task's creator holds no role in it; join with another account "
    "only if it is really another party.",
    "NotAllowed": "the task admits only its allow-list: ask its creator to run "
    "`decentralml task allow`.",
    "ReputationTooLow": "the task admits only accounts with more reputation; earn it in "
    "open tasks first.",
    "BondTooLow": "bond at least the task's bond for the role (`decentralml task show`).",
    "DuplicateUpdate": "this update was already revealed in this round: train your own.",
    "NotInElectorate": "only the validators of the round's electorate (joined before it "
    "opened) may do this; you count from the next round.",
    "NoVoteCommitment": "commit a vote in the vote-commit phase before revealing it.",
    "VoteMismatch": "reveal exactly the verdicts, scores and salt that were committed "
    "(the validator's journal keeps them).",
    "ProposalMismatch": "attest the proposal's own CID and hash (fetch both from the chain).",
    "CancelPending": "the task already ends after its current round.",
    "RetriesTooHigh": "ask for fewer retries (at most the runtime's MaxRetries).",
    "IdleRoundsTooHigh": "set --max-idle-rounds to at most the runtime's MaxIdleRounds "
                         "(0 = no limit).",
    "ServerLearningRateInvalid": "give the server optimiser a learning rate above 0 and at "
    "most 100 (--server-lr).",
    "ServerDecayInvalid": "keep --server-momentum, --beta1 and --beta2 below 1.",
    "ServerTauZero": "give Adam/Yogi an adaptivity --tau above 0 (e.g. 0.001).",
    "ClaimedWeightingNeedsClosedAdmission": "weighting by claimed example counts trusts "
    "every contributor's claim: use --example-weighting median-capped with open admission, "
    "or keep claimed with --admission allow-list or min-reputation:N.",
    "AlreadyLeaving": "the account already asked to leave: run `decentralml task leave` again "
    "once the current round is over to get the bond back.",
    "NotInCohort": "this account was not drawn to train in this round attempt (the task's "
    "cohort, docs/committees.md); it is not idle and loses nothing: wait for the next "
    "round's draw (the contributor role does).",
    "NotInCommittee": "vote only on the revealed updates whose committee you are on, ascending "
    "by submission (recompute the judges with decentralml_client.protocol.sampling.judges "
    "from the task's committee_seed and the round's electorate); the validator role does.",
    "CommitteeRequired": "a task of more than 8192 contributor × validator seats must judge "
    "updates by committee: set --committee 1..5 (or fewer --max-contributors / "
    "--max-validators).",
    "InvalidCommittee": "set --committee 0 (every validator judges every update) or 1 to 5, "
    "and --audit at most 50 % (and 0 without a committee).",
    # Balances / System
    "InsufficientBalance": "fund the account (on the dev chain: `decentralml account faucet`).",
    "FundsUnavailable": "fund the account (on the dev chain: `decentralml account faucet`).",
    "Expendability": "keep at least the existential deposit on the account.",
    "BadOrigin": "sign with the right account.",
}


PALLET_ERRORS: dict[str, type[PalletError]] = _error_classes()
"""The DecentralMl errors by name, as the pallet interface lists them."""
