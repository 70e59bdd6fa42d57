"""AWS Deadline Cloud: the job bundle, and a submission through the real ``deadline`` client
(0.60.10) with its AWS client replaced IN-PROCESS. No network, ever: creating a real
botocore client or opening a socket fails the test.

Where the client reaches AWS (deadline 0.60.10, read from its source):
``deadline.client.api._submit_job_bundle`` calls ``api.get_boto3_client("deadline")`` (the
name bound in ``deadline.client.api``) for GetQueue, CreateJob and GetJob;
``deadline.client.api._queue_parameters`` has its own ``get_boto3_client`` for
ListQueueEnvironments; ``_session.get_boto3_client`` is the original both come from. Telemetry
is switched off with ``DEADLINE_CLOUD_TELEMETRY_OPT_OUT=true``; the client's configuration is
pointed at a file in tmp_path (``DEADLINE_CONFIG_FILE_PATH``; the client's telemetry
constructor writes a random ``telemetry.identifier`` into it even when opted out) and AWS
profiles at missing files, so nothing of the developer's own setup is read or written.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT

from lrc_toolbox.farm.deadline_cloud import (
    DeadlineCloudError,
    DeadlineCloudUnavailable,
    asset_references,
    export_bundle,
    submit_to_deadline_cloud,
)
from lrc_toolbox.farm.openjd import OpenJDOptions
from lrc_toolbox.records.models import RenderConfig

yaml = pytest.importorskip("yaml")

JOB_ID = "job-0123456789abcdef0123456789abcdef"
FARM = "farm-0123456789abcdef0123456789abcdef"
QUEUE = "queue-0123456789abcdef0123456789abcdef"


def make_plan(tmp_path: Path, **config: Any) -> Any:
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI

    config.setdefault("output_dir", str(tmp_path / "images"))
    return BatchRenderAPI(simulate=True).plan_batch(RenderConfig(scene=str(SHOT), **config))


class FakeDeadline:
    """The ``deadline`` boto3 client, as far as a bundle submission uses it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_create: Exception | None = None

    def get_queue(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GetQueue", kwargs))
        # no "jobAttachmentSettings": the client skips hashing and S3 uploads
        return {"farmId": kwargs["farmId"], "queueId": kwargs["queueId"], "displayName": "Q"}

    def list_queue_environments(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("ListQueueEnvironments", kwargs))
        return {"environments": []}

    def create_job(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("CreateJob", kwargs))
        if self.fail_create is not None:
            raise self.fail_create
        return {"jobId": JOB_ID}

    def get_job(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GetJob", kwargs))
        return {"lifecycleStatus": "CREATE_COMPLETE", "lifecycleStatusMessage": "Job created"}

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for call, kwargs in self.calls if call == name]


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The deadline client with a fake AWS client; any real client or socket fails."""
    pytest.importorskip("deadline.client.api")
    import botocore.session
    from deadline.client import api
    from deadline.client.api import _queue_parameters, _session

    fake = FakeDeadline()
    real_attempts: list[str] = []

    def get_client(service_name: str, config: Any = None, region: Any = None) -> Any:
        assert service_name == "deadline", service_name
        return fake

    def no_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        real_attempts.append(f"botocore client {service_name}")
        raise AssertionError(f"a real AWS client was created for {service_name}")

    def no_socket(*args: Any, **kwargs: Any) -> Any:
        real_attempts.append(f"socket {args[1:] or kwargs}")
        raise AssertionError("network access in a test")

    monkeypatch.setattr(api, "get_boto3_client", get_client)
    monkeypatch.setattr(_session, "get_boto3_client", get_client)
    monkeypatch.setattr(_queue_parameters, "get_boto3_client", get_client)
    monkeypatch.setattr(botocore.session.Session, "create_client", no_client)
    monkeypatch.setattr(socket.socket, "connect", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    monkeypatch.setenv("DEADLINE_CONFIG_FILE_PATH", str(tmp_path / "deadline" / "config"))
    monkeypatch.setenv("DEADLINE_CLOUD_TELEMETRY_OPT_OUT", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "DEADLINE_HOOKS_DIR"):
        monkeypatch.delenv(name, raising=False)
    fake.real_attempts = real_attempts  # type: ignore[attr-defined]
    yield fake
    assert real_attempts == []
    # our farm/queue choice never reaches the user's Deadline configuration (the client's
    # telemetry constructor may store its own random telemetry.identifier there)
    config = tmp_path / "deadline" / "config"
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    assert FARM not in text and QUEUE not in text and JOB_ID not in text


def test_export_bundle_writes_the_three_files(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-10")
    folder = export_bundle(plan, tmp_path / "bundle")
    assert sorted(p.name for p in folder.iterdir()) == [
        "asset_references.yaml",
        "parameter_values.yaml",
        "template.yaml",
    ]
    refs = yaml.safe_load((folder / "asset_references.yaml").read_text(encoding="utf-8"))
    assert refs == asset_references(plan)
    assert refs["assetReferences"]["inputs"]["filenames"] == [str(SHOT.resolve())]
    assert refs["assetReferences"]["outputs"]["directories"] == [plan.plan.output_dir]


def test_submission_calls_create_job_with_the_bundle(tmp_path: Path, offline: Any) -> None:
    plan = make_plan(tmp_path, frames="1-100x5", chunk_size=4, max_attempts=2)
    folder = export_bundle(plan, tmp_path / "bundle", OpenJDOptions(priority=70))
    printed: list[str] = []
    job_id = submit_to_deadline_cloud(folder, FARM, QUEUE, print_function=printed.append)
    assert job_id == JOB_ID
    (create,) = offline.named("CreateJob")
    assert create["farmId"] == FARM and create["queueId"] == QUEUE
    assert create["template"] == (folder / "template.yaml").read_text(encoding="utf-8")
    assert create["templateType"] == "YAML"
    assert create["priority"] == 70  # from deadline:priority in parameter_values.yaml
    assert create["maxRetriesPerTask"] == 1  # max_attempts 2
    scene = str(SHOT.resolve())
    assert create["parameters"]["MayaSceneFile"] == {"path": scene}
    assert create["parameters"]["OutputDir"] == {"path": plan.plan.output_dir}
    assert create["parameters"]["Mayapy"] == {"string": "mayapy"}
    assert set(create["parameters"]) == {"MayaSceneFile", "OutputDir", "Mayapy", "LrcToolboxPath"}
    assert "attachments" not in create  # the fake queue has no job attachments
    template = yaml.safe_load(create["template"])
    ranges = [
        s["parameterSpace"]["taskParameterDefinitions"][0]["range"] for s in template["steps"]
    ]
    assert ranges == ["1-96:5,100", "1-96:5,100"]
    assert offline.named("GetQueue") == [{"farmId": FARM, "queueId": QUEUE}]
    assert offline.named("ListQueueEnvironments")[0]["farmId"] == FARM
    assert offline.named("GetJob")[0]["jobId"] == JOB_ID


def test_priority_given_at_submission_wins(tmp_path: Path, offline: Any) -> None:
    folder = export_bundle(make_plan(tmp_path, frames="1"), tmp_path / "bundle")
    submit_to_deadline_cloud(folder, FARM, QUEUE, priority=10, print_function=lambda _: None)
    assert offline.named("CreateJob")[0]["priority"] == 10


def test_a_refused_job_is_a_clear_error(tmp_path: Path, offline: Any) -> None:
    from botocore.exceptions import ClientError

    offline.fail_create = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "bad template"}}, "CreateJob"
    )
    folder = export_bundle(make_plan(tmp_path, frames="1"), tmp_path / "bundle")
    with pytest.raises(DeadlineCloudError, match="bad template"):
        submit_to_deadline_cloud(folder, FARM, QUEUE, print_function=lambda _: None)


def test_missing_client_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    for name in [n for n in sys.modules if n == "deadline" or n.startswith("deadline.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "deadline", None)  # "import deadline" now fails
    with pytest.raises(DeadlineCloudUnavailable, match=r"pip install deadline==0\.60\.10"):
        submit_to_deadline_cloud(tmp_path, FARM, QUEUE)
    code, _, err = farm_cli(
        [
            "submit",
            "--deadline-cloud",
            "--farm-id",
            FARM,
            "--queue-id",
            QUEUE,
            *common(tmp_path),
        ]
    )
    assert code == 3 and "pip install deadline==0.60.10" in err


# --------------------------------------------------------------------------- the CLI


def farm_cli(argv: list[str]) -> tuple[int, str, str]:
    import argparse
    import io

    from lrc_toolbox.farm.cli import add_farm_parsers, run_farm_command

    parser = argparse.ArgumentParser()
    add_farm_parsers(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = run_farm_command(parser.parse_args(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def common(tmp_path: Path) -> list[str]:
    # --simulate: plan with the simulated mayapy (this machine has no Maya)
    return [
        "--scene",
        str(SHOT),
        "--frames",
        "1-10",
        "--output",
        str(tmp_path / "images"),
        "--simulate",
    ]


def test_cli_submits_to_deadline_cloud(tmp_path: Path, offline: Any) -> None:
    kept = tmp_path / "kept"
    code, out, err = farm_cli(
        [
            "submit",
            "--deadline-cloud",
            "--farm-id",
            FARM,
            "--queue-id",
            QUEUE,
            "--chunk-size",
            "5",
            "--priority",
            "40",
            "--farm-mayapy",
            "/usr/autodesk/maya2025/bin/mayapy",
            "--keep-files",
            str(kept),
            "--json",
            *common(tmp_path),
        ]
    )
    assert code == 0, err
    assert json.loads(out) == {"deadline_cloud": JOB_ID}
    (create,) = offline.named("CreateJob")
    assert create["priority"] == 40
    assert create["parameters"]["Mayapy"] == {"string": "/usr/autodesk/maya2025/bin/mayapy"}
    assert (kept / "asset_references.yaml").is_file()


def test_cli_needs_farm_and_queue(tmp_path: Path) -> None:
    code, _, err = farm_cli(["submit", "--deadline-cloud", "--farm-id", FARM, *common(tmp_path)])
    assert code == 2 and "--queue-id" in err


def test_cli_export_openjd_with_the_simulator(tmp_path: Path) -> None:
    code, out, err = farm_cli(
        ["export", "--openjd", str(tmp_path / "b"), "--simulate", "--json", *common(tmp_path)]
    )
    assert code == 0, err
    folder = Path(json.loads(out)["openjd"])
    values = yaml.safe_load((folder / "parameter_values.yaml").read_text(encoding="utf-8"))
    mayapy = next(v["value"] for v in values["parameterValues"] if v["name"] == "Mayapy")
    assert Path(mayapy).parent == folder and Path(mayapy).is_file()  # the simulator wrapper
