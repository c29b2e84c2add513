"""The ``decentralml`` command line."""
