"""Errors of the chain API, each with a message that says what to do next."""

from __future__ import annotations

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


class PalletError(ChainError):
    """The runtime included the transaction and it failed with a named error.

    ``pallet`` and ``name`` are the runtime's names (e.g. ``DecentralMl`` / ``WrongPhase``);
    ``docs`` is the runtime's own description; the message adds what to do about it.
    """

    def __init__(self, pallet: str, name: str, docs: str = "", call: str = "") -> None:
        self.pallet = pallet
        self.name = name
        self.docs = docs.strip()
        self.call = call
        hint = HINTS.get(name, "")
        if hint:
            self.hint = hint
        where = f"{call}: " if call else ""
        text = f"{where}{pallet}.{name}"
        if self.docs:
            text += f" — {self.docs}"
        if hint:
            text += f" What to do: {hint}"
        super().__init__(text)


# What a user can do about each refusal. Keys are pallet error names (any pallet).
HINTS: dict[str, str] = {
    # DecentralMl
    "WrongPhase": "wait for the round's phase that accepts this call (`decentralml task show`).",
    "NotMember": "join the task first with `decentralml task join` (or `contribute`/`validate`).",
    "NotRegistered": "register the account first with `decentralml register`.",
    "AlreadyRegistered": "the account already has this role; use it, or `deregister` first.",
    "AlreadyCommitted": "this account already committed an update for this round; reveal it.",
    "CommitDeadlinePassed": "the commit phase is over; take part in the next round.",
    "CommitmentMismatch": "reveal the exact update hash and salt that were committed "
    "(the contributor's journal keeps them).",
    "NotValidator": "only validators of this task may do this; join it as a validator.",
    "AlreadyVoted": "each validator votes once per round; nothing more to do.",
    "AlreadyAttested": "each validator attests once per round; nothing more to do.",
    "UnknownSubmission": "vote only on submissions revealed in this round.",
    "StakeTooLow": "stake at least the role's minimum (see `decentralml account balance`).",
    "RewardTooLow": "offer a larger reward per round (at least the chain's minimum).",
    "NotTaskCreator": "only the account that created the task can do this.",
    "RoundNotFinished": "the round is still running; finalise after its deadline or once a model "
    "is adopted.",
    "UnknownTask": "check the task id with `decentralml task list`.",
    "TaskFull": "the task has all the participants it accepts; choose another task.",
    "TaskNotActive": "the task has finished or was cancelled.",
    "WrongRound": "the task is in another round now; fetch its state and retry.",
    "HasOpenCommitments": "finish or leave your tasks before deregistering.",
    "InvalidSpec": "fix the task specification (see docs/chain.md for the limits).",
    "FinalizeAdoptedRoundFirst": "finalise the round whose model was adopted first.",
    "AggregationClosed": "the aggregation phase of this round is over.",
    "NotContributor": "join the task as a contributor first.",
    "AlreadyJoined": "the account is already a member of this task in that role.",
    "NoCommitment": "commit an update in the commit phase before revealing it.",
    "AlreadyRevealed": "the update is already revealed; nothing more to do this round.",
    "NoExamples": "an update must be trained on at least one example.",
    "EmptyVote": "a vote needs at least one verdict.",
    "TooManyVerdicts": "a vote carries at most MaxVerdicts verdicts, one per submission.",
    "NotRevealed": "vote only on revealed submissions.",
    "DuplicateVerdict": "give one verdict per submission.",
    "InvalidScore": "scores are basis points, 0 to 10000.",
    "DuplicateProposal": "this aggregate is already proposed: attest it instead.",
    "AlreadyProposed": "this account already proposed an aggregate for the round.",
    "UnknownProposal": "attest a hash that was proposed in this round.",
    "BoundsExceeded": "a value is over the chain's limits (see docs/chain.md).",
    "CreatorCannotJoin": "a task's creator holds no role in it; join with another account "
    "only if it is really another party.",
    "NotAllowed": "the task admits only its allow-list: ask its creator to run "
    "`decentralml task allow`.",
    "ReputationTooLow": "the task admits only accounts with more reputation; earn it in "
    "open tasks first.",
    "BondTooLow": "bond at least the task's bond for the role (`decentralml task show`).",
    "NotYetEligible": "you joined during a round: you take part from the next round on.",
    "DuplicateUpdate": "this update was already revealed in this round: train your own.",
    "NotInElectorate": "only the validators of the round's electorate (joined before it "
    "opened) may do this; you count from the next round.",
    "NoVoteCommitment": "commit a vote in the vote-commit phase before revealing it.",
    "VoteMismatch": "reveal exactly the verdicts, scores and salt that were committed "
    "(the validator's journal keeps them).",
    "VotesSealed": "votes are revealed only after the vote-commit window closes; wait for "
    "the VoteReveal phase.",
    "IncompleteVote": "a vote must cover every revealed submission exactly once, in "
    "ascending order.",
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
    "TaskStillActive": "purge a task only after it finished or was cancelled.",
    "AlreadyLeaving": "the account already asked to leave: run `decentralml task leave` again "
    "once the current round is over to get the bond back.",
    # Balances / System
    "InsufficientBalance": "fund the account (on the dev chain: `decentralml account faucet`).",
    "FundsUnavailable": "fund the account (on the dev chain: `decentralml account faucet`).",
    "Expendability": "keep at least the existential deposit on the account.",
    "BadOrigin": "sign with the right account.",
}
