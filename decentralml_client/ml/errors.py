"""One exception hierarchy for the learning engine; every message says what is wrong."""

from __future__ import annotations

from decentralml_client.errors import DecentralMLError


class MLError(DecentralMLError, ValueError):
    """Base class of every error the learning engine raises on bad input."""

    hint = "check the model spec, the data and the update files named in the message."


class ModelSpecError(MLError):
    """A model spec is malformed or describes something we refuse to build."""


class CodecError(MLError):
    """A weights/update file cannot be encoded or is refused on decode."""


class OversizeError(CodecError):
    """The file (or its header) is larger than the caller's limit."""


class MalformedFileError(CodecError):
    """The bytes are not a well-formed DecentralML safetensors file."""


class SchemaMismatchError(CodecError):
    """Tensor names, shapes, dtypes or metadata do not match what the model spec expects."""


class NonFiniteError(CodecError):
    """A tensor holds NaN or +/-Inf."""


class AggregationError(MLError):
    """Aggregation inputs are empty, inconsistent, or the rule's parameters are impossible."""


class DataError(MLError):
    """A data set does not match the model spec's data description."""


class TrainingError(MLError):
    """Local training could not run on the given inputs."""


class ModelFileError(MLError):
    """A Keras model file cannot be read, or a model cannot be written in the asked format."""

    hint = ("save the model with `model.save('model.keras')` (or as a SavedModel, or as "
            "`model.to_json()` plus `model.save_weights('model.weights.h5')`) and try again.")
