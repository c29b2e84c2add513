"""The four roles of the protocol, each runnable as its own process."""
