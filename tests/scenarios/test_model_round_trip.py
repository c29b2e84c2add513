"""Models in, models out, on the real dev chain and a real Kubo daemon.

A creator builds a model in plain Keras and saves it as ``.keras``; ``decentralml model init``
turns it into a model spec (and its initial weights); the demo's machinery runs it as a task
for 2 rounds on the tabular example (breast cancer CSV), every role its own process;
``decentralml model pull`` fetches the adopted model, checks it against the attested hash and
its lineage, and writes ``final.keras``, which a fresh Python process opens with
``keras.models.load_model`` and no custom objects, predicting exactly what the attested weights
predict. ``model eval`` on a validator's own data reproduces that validator's attested scores;
``model lineage --json`` names every accepted update, its votes and the attestations; and once
the model's block is altered inside Kubo's blockstore, ``pull`` refuses it by name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from decentralml_client.chain import Chain, DecentralMl
from decentralml_client.cli._common import Exit
from decentralml_client.cli.main import app
from decentralml_client.config import Settings
from decentralml_client.demo_run import DemoOptions, run_demo
from decentralml_client.ml.codec import decode_tensors
from decentralml_client.ml.evaluate import predict_proba
from decentralml_client.ml.examples import get_example
from decentralml_client.ml.model_spec import ModelSpec
from decentralml_client.roles.models import TamperedModel, pull_model, reader_context
from decentralml_client.storage import IpfsStore

pytestmark = pytest.mark.integration

runner = CliRunner()


def _cli(args: list[str], devnet, kubo, data_dir: Path) -> tuple[int, str]:  # noqa: ANN001
    """Exit code and output (with ``--json``: standard output only, the JSON document;
    notes such as a fee go to standard error)."""
    result = runner.invoke(app, ["--node", devnet.url, "--ipfs", kubo.api_multiaddr, *args],
                           env={"DML_DATA_DIR": str(data_dir)})
    return result.exit_code, result.stdout if "--json" in args else result.output


def _plain_keras_model(path: Path) -> None:
    from decentralml_client.ml._tf import tf

    tf.keras.utils.set_random_seed(7)
    model = tf.keras.Sequential([
        tf.keras.Input((30,), name="measurements"),
        tf.keras.layers.Dense(12, activation="relu", name="hidden"),
        tf.keras.layers.Dropout(0.1, name="dropout"),
        tf.keras.layers.Dense(2, activation="softmax", name="diagnosis"),
    ])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(path)


def _kubo_block(kubo, content: bytes) -> Path:  # noqa: ANN001
    """The file in Kubo's blockstore holding ``content`` (a small file is one raw block)."""
    found = [p for p in (Path(kubo.repo_dir) / "blocks").rglob("*.data")
             if p.stat().st_size == len(content) and p.read_bytes() == content]
    assert len(found) == 1, found
    return found[0]


def test_a_keras_model_goes_through_a_task_and_comes_back_out(devnet, kubo,  # noqa: ANN001
                                                               tmp_path: Path) -> None:
    creator_dir = tmp_path / "creator"
    _plain_keras_model(tmp_path / "model.keras")

    code, output = _cli(["model", "init", "--from", str(tmp_path / "model.keras"),
                         "--out", str(tmp_path / "spec.json"), "--print"], devnet, kubo,
                        creator_dir)
    assert code == 0, output
    assert "diagnosis" in output and "f16" in output and "398" in output  # 30*12+12+12*2+2
    spec = ModelSpec.from_bytes((tmp_path / "spec.json").read_bytes())
    initial = (tmp_path / "spec.weights.safetensors").read_bytes()

    # task create --model takes the spec, and publishes the model's own weights with it
    code, output = _cli(["--json", "task", "create", "--dev", "alice", "--yes", "--model",
                         str(tmp_path / "spec.json"), "--rounds", "1"], devnet, kubo,
                        creator_dir)
    assert code == 0, output
    created = json.loads(output)["task_id"]
    with Chain(devnet.url) as chain:
        on_chain = DecentralMl(chain).task(created).spec
        store = IpfsStore(kubo.api_multiaddr)
        published = ModelSpec.from_bytes(store.fetch(on_chain.model_cid, on_chain.model_hash))
        assert published.weights == spec.weights
        assert published.initial_weights_hash == spec.initial_weights_hash
        assert store.fetch(str(published.initial_weights_cid),
                           str(published.initial_weights_hash)) == initial
    code, output = _cli(["task", "cancel", str(created), "--dev", "alice"], devnet, kubo,
                        creator_dir)
    assert code == 0, output

    summary = run_demo(
        Settings(data_dir=tmp_path / "demo"),
        DemoOptions(rounds=2, contributors=2, validators=2, example="breast-cancer",
                    model=tmp_path / "spec.json", local_epochs=2, plot=None),
        services=(devnet.url, kubo.api_multiaddr))
    assert summary["status"] == "Finished"
    task_id = summary["task_id"]
    assert [r["accepted"] for r in summary["rounds"]] == [2, 2]

    # pull: the last round's model, checked, as a .keras file a fresh process loads
    final = tmp_path / "final.keras"
    code, output = _cli(["model", "pull", str(task_id), "--out", str(final)], devnet, kubo,
                        creator_dir)
    assert code == 0, output
    assert "aggregate recomputed and matching" in " ".join(output.split())
    last = summary["rounds"][-1]
    attested = store.fetch(last["model_cid"], last["model_hash"])
    weights = decode_tensors(attested, spec, kind="weights").tensors
    _, _, x_test, _ = get_example("breast-cancer").split(0)
    np.save(tmp_path / "x.npy", x_test)
    script = ("import numpy as np, keras\n"
              f"m = keras.models.load_model({str(final)!r})\n"
              f"np.save({str(tmp_path / 'p.npy')!r}, "
              f"m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))\n")
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), predict_proba(spec, weights, x_test),
                               atol=1e-6)
    code, output = _cli(["model", "pull", str(task_id), "--round", "0", "--format", "npz",
                         "--out", str(tmp_path / "r0.npz")], devnet, kubo, creator_dir)
    assert code == 0, output
    with np.load(tmp_path / "r0.npz") as z:
        assert sorted(z.files) == sorted(spec.weight_names)

    # eval on validator1's own data gives validator1's attested scores
    with Chain(devnet.url) as chain:
        dml = DecentralMl(chain)
        mine = next(v["address"] for v in summary["validators"] if v["name"] == "validator1")
        scores = [dml.attestations(task_id, r)[mine].score for r in (0, 1)]
    holdout = Path(summary["workdir"]) / "validator1-test.npz"
    code, output = _cli(["model", "eval", str(task_id), "--data", str(holdout), "--plot",
                         str(tmp_path / "eval.png"), "--json"], devnet, kubo, creator_dir)
    assert code == 0, output
    rows = json.loads(output)["rounds"]
    assert [r["round"] for r in rows] == [None, 0, 1]
    for row, score in zip(rows[1:], scores, strict=True):
        assert abs(row["accuracy"] * 10_000 - int(score)) <= 0.5, (row, score)
    assert (tmp_path / "eval.png").stat().st_size > 10_000

    # lineage: every accepted update, its votes, the attestations
    code, output = _cli(["model", "lineage", str(task_id), "--round", "1", "--json"], devnet,
                        kubo, creator_dir)
    assert code == 0, output
    lineage = json.loads(output)
    assert lineage["checked"] is True
    assert [r["round"] for r in lineage["rounds"]] == [0, 1]
    r1 = lineage["rounds"][1]
    assert r1["model_hash"] == last["model_hash"]
    assert r1["base_model_hash"] == lineage["rounds"][0]["model_hash"]
    assert len(r1["attestations"]) == 2
    for update in r1["updates"]:
        assert update["status"] == "Accepted" and update["cid"]
        assert len(update["votes"]) == 2 and all(v["accept"] for v in update["votes"])

    # tampered in IPFS: the block's bytes altered in Kubo's blockstore, same CID
    block = _kubo_block(kubo, attested)
    tampered = bytearray(attested)
    tampered[-1] ^= 0x01
    block.write_bytes(bytes(tampered))
    try:
        code, output = _cli(["model", "pull", str(task_id), "--out", str(tmp_path / "t.keras")],
                            devnet, kubo, tmp_path / "fresh")
        assert code == Exit.FAILED, output
        flat = " ".join(output.split())  # rich wraps long lines
        assert "does not hash to the attested hash" in flat and "refused" in flat
        assert "Traceback" not in flat
        assert not (tmp_path / "t.keras").exists()
        with Chain(devnet.url) as chain, pytest.raises(TamperedModel):
            pull_model(reader_context(chain, IpfsStore(kubo.api_multiaddr), tmp_path / "api"),
                       task_id)
    finally:
        block.write_bytes(attested)
