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

Job attachments run for real against moto's in-process S3 (``moto[s3]`` 5.2.6, the ``test``
extra): the queue reports ``jobAttachmentSettings``, the client's own hashing and
``S3AssetManager`` upload go to a moto bucket, and only the ``deadline`` service (which moto
does not have) is the fake. ``api.get_queue_user_boto3_session`` (AssumeQueueRoleForUser)
returns a plain boto3 session with moto's test credentials.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT

from lrc_toolbox.farm.deadline_cloud import (
    AttachmentApprovalNeeded,
    DeadlineCloudError,
    DeadlineCloudSetupError,
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
#: ids written into the test's own ``deadline config`` (never FARM/QUEUE: the fixture checks
#: that an explicit choice never reaches the configuration)
CONFIG_FARM = "farm-fedcba9876543210fedcba9876543210"
CONFIG_QUEUE = "queue-fedcba9876543210fedcba9876543210"
BUCKET = "lrc-test-job-attachments"
ROOT_PREFIX = "DeadlineCloud"
PROFILE_ID = "sp-0123456789abcdef0123456789abcdef"
#: a conda queue environment as the console creates it: its two parameters as in
#: aws-deadline/deadline-cloud-samples
#: ``queue_environments/conda_queue_env_console_equivalent.yaml``
CONDA_QUEUE_ENVIRONMENT = """\
specificationVersion: 'environment-2023-09'
parameterDefinitions:
- name: CondaPackages
  type: STRING
  default: ''
- name: CondaChannels
  type: STRING
  default: 'deadline-cloud'
environment:
  name: Conda
  script:
    actions:
      onEnter:
        command: echo
        args: ['conda create -p env {{Param.CondaPackages}}']
"""


def make_plan(tmp_path: Path, **config: Any) -> Any:
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI

    config.setdefault("output_dir", str(tmp_path / "images"))
    config.setdefault("scene", str(SHOT))
    return BatchRenderAPI(simulate=True).plan_batch(RenderConfig(**config))


class FakeDeadline:
    """The ``deadline`` boto3 client, as far as a bundle submission uses it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_create: Exception | None = None
        #: the queue's jobAttachmentSettings; None: no job attachments (no hashing/upload)
        self.attachments: dict[str, str] | None = None
        #: queue environment templates (YAML), e.g. CONDA_QUEUE_ENVIRONMENT
        self.environments: list[str] = []
        #: GetStorageProfileForQueue's fileSystemLocations
        self.profile_locations: list[dict[str, str]] = []

    def get_queue(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GetQueue", kwargs))
        queue = {"farmId": kwargs["farmId"], "queueId": kwargs["queueId"], "displayName": "Q"}
        if self.attachments is not None:
            queue["jobAttachmentSettings"] = self.attachments
        return queue

    def list_queue_environments(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("ListQueueEnvironments", kwargs))
        return {
            "environments": [
                {"queueEnvironmentId": f"queueenv-{i}", "name": f"E{i}", "priority": i}
                for i in range(len(self.environments))
            ]
        }

    def get_queue_environment(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GetQueueEnvironment", kwargs))
        index = int(kwargs["queueEnvironmentId"].rpartition("-")[2])
        return {
            "queueEnvironmentId": kwargs["queueEnvironmentId"],
            "name": f"E{index}",
            "priority": index,
            "templateType": "YAML",
            "template": self.environments[index],
        }

    def get_storage_profile_for_queue(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("GetStorageProfileForQueue", kwargs))
        return {
            "storageProfileId": kwargs["storageProfileId"],
            "displayName": "Workstations",
            "osFamily": "LINUX",
            "fileSystemLocations": self.profile_locations,
        }

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

    real_create_client = botocore.session.Session.create_client
    fake.moto_services = set()  # type: ignore[attr-defined]

    def no_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name in fake.moto_services:  # type: ignore[attr-defined]
            return real_create_client(self, service_name, *args, **kwargs)
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
    # the client's hash and S3 check caches live in ~/.deadline/cache
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
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
    names = {p.name for p in folder.iterdir()}
    assert {"asset_references.yaml", "parameter_values.yaml", "template.yaml"} <= names
    refs = yaml.safe_load((folder / "asset_references.yaml").read_text(encoding="utf-8"))
    # the bundle's collection (scene, references, textures, caches) with the planner's
    # references in it too
    planned_inputs = asset_references(plan)["assetReferences"]["inputs"]["filenames"]
    assert set(planned_inputs) <= set(refs["assetReferences"]["inputs"]["filenames"])
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
    assert {"MayaSceneFile", "OutputDir", "Mayapy"} <= set(create["parameters"])
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


def test_cli_without_a_queue_anywhere_says_how_to_set_it(tmp_path: Path, offline: Any) -> None:
    code, _, err = farm_cli(["submit", "--deadline-cloud", "--farm-id", FARM, *common(tmp_path)])
    assert code == 2
    assert "`deadline config set defaults.queue_id queue-...` or pass --queue-id" in err
    assert "farm" not in err.split("error:")[1].split(":")[0]  # only the queue is missing
    assert offline.calls == []  # refused before planning or any call


def write_deadline_config(tmp_path: Path, **settings: str) -> None:
    """The test's ``deadline config`` file (DEADLINE_CONFIG_FILE_PATH points at it)."""
    from deadline.client.config import config_file

    for key, value in settings.items():
        config_file.set_setting(key.replace("__", "."), value)


def test_farm_and_queue_default_from_deadline_config(tmp_path: Path, offline: Any) -> None:
    write_deadline_config(tmp_path, defaults__farm_id=CONFIG_FARM, defaults__queue_id=CONFIG_QUEUE)
    folder = export_bundle(make_plan(tmp_path, frames="1"), tmp_path / "bundle")
    submit_to_deadline_cloud(folder, print_function=lambda _: None)
    (create,) = offline.named("CreateJob")
    assert (create["farmId"], create["queueId"]) == (CONFIG_FARM, CONFIG_QUEUE)


def test_given_ids_override_deadline_config(tmp_path: Path, offline: Any) -> None:
    write_deadline_config(tmp_path, defaults__farm_id=CONFIG_FARM, defaults__queue_id=CONFIG_QUEUE)
    code, _, err = farm_cli(["submit", "--deadline-cloud", "--queue-id", QUEUE, *common(tmp_path)])
    assert code == 0, err
    (create,) = offline.named("CreateJob")
    assert (create["farmId"], create["queueId"]) == (CONFIG_FARM, QUEUE)


def test_chunks_over_the_service_limit_are_refused(tmp_path: Path, offline: Any) -> None:
    folder = export_bundle(make_plan(tmp_path, frames="1-300", chunk_size=150), tmp_path / "b")
    template_path = folder / "template.yaml"
    # a bundle edited by hand (or written by another tool) past the service's limit
    text = template_path.read_text(encoding="utf-8")
    assert "defaultTaskCount: 150" in text
    template_path.write_text(
        text.replace("defaultTaskCount: 150", "defaultTaskCount: 151"), encoding="utf-8"
    )
    with pytest.raises(DeadlineCloudSetupError, match=r"limit of 150 frames per task"):
        submit_to_deadline_cloud(folder, FARM, QUEUE, print_function=lambda _: None)
    assert offline.calls == []  # nothing reached the service


def test_cli_refuses_chunks_over_the_service_limit(tmp_path: Path, offline: Any) -> None:
    code, _, err = farm_cli(
        [
            *("submit", "--deadline-cloud", "--farm-id", FARM, "--queue-id", QUEUE),
            *("--chunk-size", "151", *common(tmp_path)),
        ]
    )
    assert code == 2 and "150 or less" in err
    assert offline.named("CreateJob") == []


# --------------------------------------------------------------------------- job attachments


@pytest.fixture
def s3_queue(offline: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A job-attachments queue with a conda queue environment; its bucket is moto's."""
    pytest.importorskip("moto")
    import boto3
    from deadline.client import api
    from moto import mock_aws

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-west-2"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    offline.moto_services.update({"s3", "sts"})  # STS: the client's bucket-owner check
    offline.attachments = {"s3BucketName": BUCKET, "rootPrefix": ROOT_PREFIX}
    offline.environments = [CONDA_QUEUE_ENVIRONMENT]

    def queue_session(**kwargs: Any) -> Any:
        return boto3.Session(region_name="us-west-2")

    monkeypatch.setattr(api, "get_queue_user_boto3_session", queue_session)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-west-2")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        offline.s3 = s3
        yield offline


def s3_objects(s3: Any, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def scene_elsewhere(tmp_path: Path) -> Path:
    """The sample scene in a folder of its own: outside every known path."""
    scene = tmp_path / "scenes" / "shot010_lighting.ma"
    scene.parent.mkdir()
    scene.write_bytes(SHOT.read_bytes())
    return scene


def texture_elsewhere(tmp_path: Path) -> Path:
    """A texture the scene uses, in a folder nobody named: it needs approval to upload."""
    texture = tmp_path / "library" / "wood.tx"
    texture.parent.mkdir(exist_ok=True)
    texture.write_bytes(b"not really a texture")
    return texture


def with_texture(monkeypatch: pytest.MonkeyPatch, texture: Path) -> None:
    """Bundles list ``texture`` as an input, as a reference collected from the scene."""
    from lrc_toolbox.farm import deadline_cloud

    real = deadline_cloud.asset_references

    def plus_texture(planned: Any) -> dict[str, Any]:
        refs = real(planned)
        refs["assetReferences"]["inputs"]["filenames"].append(str(texture))
        return refs

    monkeypatch.setattr(deadline_cloud, "asset_references", plus_texture)


def conda_bundle(tmp_path: Path, scene: Path) -> tuple[Path, dict[str, str]]:
    """A bundle holding CondaPackages (the bundle's own, or added here while the bundle
    does not declare it yet) and a texture outside every known folder; returns it and its
    parameter values by name."""
    plan = make_plan(tmp_path, frames="1-4", chunk_size=2, scene=str(scene))
    folder = export_bundle(plan, tmp_path / "bundle")
    refs_path = folder / "asset_references.yaml"
    refs = yaml.safe_load(refs_path.read_text(encoding="utf-8"))
    refs["assetReferences"]["inputs"]["filenames"].append(str(texture_elsewhere(tmp_path)))
    refs_path.write_text(yaml.safe_dump(refs), encoding="utf-8")
    template_path = folder / "template.yaml"
    values_path = folder / "parameter_values.yaml"
    template = yaml.safe_load(template_path.read_text(encoding="utf-8"))
    values = yaml.safe_load(values_path.read_text(encoding="utf-8"))
    names = {p["name"] for p in template["parameterDefinitions"]}
    if "CondaPackages" not in names:
        template["parameterDefinitions"].append(
            {"name": "CondaPackages", "type": "STRING", "default": ""}
        )
        values["parameterValues"].append(
            {"name": "CondaPackages", "value": "maya=2025.* maya-mtoa"}
        )
        template_path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
        values_path.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
    by_name = {p["name"]: str(p.get("default", "")) for p in template["parameterDefinitions"]}
    by_name.update({v["name"]: str(v["value"]) for v in values["parameterValues"]})
    return folder, by_name


def test_job_attachments_upload_the_scene_and_the_job_gets_conda_packages(
    tmp_path: Path, s3_queue: Any
) -> None:
    scene = scene_elsewhere(tmp_path)
    folder, values = conda_bundle(tmp_path, scene)
    printed: list[str] = []
    job_id = submit_to_deadline_cloud(
        folder,
        FARM,
        QUEUE,
        approve_attachments=True,
        known_paths=[str(scene.parent)],
        print_function=printed.append,
    )
    assert job_id == JOB_ID
    (create,) = s3_queue.named("CreateJob")
    parameters = create["parameters"]
    assert values["CondaPackages"].strip()
    if "CondaPackages" in parameters:  # a value in parameter_values.yaml
        assert parameters["CondaPackages"] == {"string": values["CondaPackages"]}
    else:  # only the template's default, which the service applies to the job
        sent = yaml.safe_load(create["template"])["parameterDefinitions"]
        conda = next(p for p in sent if p["name"] == "CondaPackages")
        assert conda["default"] == values["CondaPackages"]
    # the queue's conda environment was read (its parameters merged with the bundle's)
    assert s3_queue.named("GetQueueEnvironment")[0]["queueEnvironmentId"] == "queueenv-0"
    assert create["attachments"]["manifests"], create["attachments"]
    # the scene's bytes are in the queue's bucket (content-addressed under Data/)
    data = s3_objects(s3_queue.s3, f"{ROOT_PREFIX}/Data/")
    assert scene.read_bytes() in data.values()
    assert b"not really a texture" in data.values()  # the approved texture
    assert s3_objects(s3_queue.s3, f"{ROOT_PREFIX}/Manifests/")
    assert any("Approval for Job Attachment" in text for text in printed)


def test_unknown_folders_without_approval_are_refused_saying_what_and_how(
    tmp_path: Path, s3_queue: Any
) -> None:
    scene = scene_elsewhere(tmp_path)
    folder, _ = conda_bundle(tmp_path, scene)
    with pytest.raises(AttachmentApprovalNeeded) as caught:
        submit_to_deadline_cloud(
            folder, FARM, QUEUE, known_paths=[str(scene.parent)], print_function=lambda _: None
        )
    message = str(caught.value)
    unknown = message.split("Unknown paths:")[1].split("WARNING")[0]
    assert str(tmp_path / "library") in unknown  # what would be uploaded, and from where
    assert str(scene.parent) not in unknown  # the scene's folder is known
    assert "--yes" in message and "Nothing was submitted" in message
    assert "canceled by user" not in message
    assert s3_queue.named("CreateJob") == []
    assert s3_objects(s3_queue.s3, f"{ROOT_PREFIX}/Data/") == {}


def test_a_declined_question_submits_nothing(tmp_path: Path, s3_queue: Any) -> None:
    folder, _ = conda_bundle(tmp_path, scene_elsewhere(tmp_path))
    asked: list[str] = []

    def decline(message: str) -> bool:
        asked.append(message)
        return False

    with pytest.raises(DeadlineCloudError, match="declined"):
        submit_to_deadline_cloud(folder, FARM, QUEUE, ask=decline, print_function=print)
    assert len(asked) == 1 and "Unknown paths" in asked[0]
    assert s3_queue.named("CreateJob") == []


def test_an_approving_question_uploads(tmp_path: Path, s3_queue: Any) -> None:
    folder, _ = conda_bundle(tmp_path, scene_elsewhere(tmp_path))
    job_id = submit_to_deadline_cloud(
        folder, FARM, QUEUE, ask=lambda message: True, print_function=lambda _: None
    )
    assert job_id == JOB_ID and len(s3_queue.named("CreateJob")) == 1


def test_folders_in_the_storage_profile_need_no_approval(tmp_path: Path, s3_queue: Any) -> None:
    scene = scene_elsewhere(tmp_path)
    folder, _ = conda_bundle(tmp_path, scene)
    # settings.storage_profile_id is stored per queue: the configured default queue's
    write_deadline_config(
        tmp_path,
        defaults__farm_id=CONFIG_FARM,
        defaults__queue_id=CONFIG_QUEUE,
        settings__storage_profile_id=PROFILE_ID,
    )
    s3_queue.profile_locations = [{"name": "Work", "path": str(tmp_path), "type": "LOCAL"}]
    submit_to_deadline_cloud(folder, print_function=lambda _: None)
    (create,) = s3_queue.named("CreateJob")
    assert create["storageProfileId"] == PROFILE_ID
    assert scene.read_bytes() in s3_objects(s3_queue.s3, f"{ROOT_PREFIX}/Data/").values()


def test_cli_without_yes_and_no_terminal_refuses_clearly(
    tmp_path: Path, s3_queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = scene_elsewhere(tmp_path)
    with_texture(monkeypatch, texture_elsewhere(tmp_path))
    argv = ["submit", "--deadline-cloud", "--farm-id", FARM, "--queue-id", QUEUE]
    argv += ["--scene", str(scene), "--frames", "1-2", "--output", str(tmp_path / "images")]
    code, _, err = farm_cli([*argv, "--simulate"])
    assert code == 2
    assert str(tmp_path / "library") in err and "pass --yes" in err
    assert s3_queue.named("CreateJob") == []
    code, out, err = farm_cli([*argv, "--simulate", "--yes", "--json"])
    assert code == 0, err
    assert json.loads(out) == {"deadline_cloud": JOB_ID}


def test_cli_uploads_the_chosen_scene_without_asking(tmp_path: Path, s3_queue: Any) -> None:
    scene = scene_elsewhere(tmp_path)
    argv = ["submit", "--deadline-cloud", "--farm-id", FARM, "--queue-id", QUEUE]
    argv += ["--scene", str(scene), "--frames", "1-2", "--output", str(tmp_path / "images")]
    code, _, err = farm_cli([*argv, "--simulate"])
    assert code == 0, err  # the scene's folder and the output folder are the user's choice
    assert scene.read_bytes() in s3_objects(s3_queue.s3, f"{ROOT_PREFIX}/Data/").values()


def test_cli_export_openjd_with_the_simulator(tmp_path: Path) -> None:
    code, out, err = farm_cli(
        ["export", "--openjd", str(tmp_path / "b"), "--simulate", "--json", *common(tmp_path)]
    )
    assert code == 0, err
    folder = Path(json.loads(out)["openjd"])
    values = yaml.safe_load((folder / "parameter_values.yaml").read_text(encoding="utf-8"))
    mayapy = next(v["value"] for v in values["parameterValues"] if v["name"] == "Mayapy")
    assert Path(mayapy).parent == folder and Path(mayapy).is_file()  # the simulator wrapper


def test_the_terminal_question_is_asked_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    from lrc_toolbox.farm.cli import _terminal_question

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    assert _terminal_question(io.StringIO()) is None  # stderr redirected: no question
    err = Terminal()
    ask = _terminal_question(err)
    assert ask is not None
    assert ask("Unknown paths: /elsewhere") is True
    assert "Unknown paths: /elsewhere" in err.getvalue() and "[y/N]" in err.getvalue()
    monkeypatch.setattr(sys, "stdin", Terminal("\n"))
    assert ask("again") is False  # the default is no


def test_the_configured_queue_belongs_to_the_configured_farm(tmp_path: Path, offline: Any) -> None:
    write_deadline_config(tmp_path, defaults__farm_id=CONFIG_FARM, defaults__queue_id=CONFIG_QUEUE)
    from lrc_toolbox.farm.deadline_cloud import resolve_farm_and_queue

    assert resolve_farm_and_queue() == (CONFIG_FARM, CONFIG_QUEUE)
    # another farm has no default queue in this configuration
    with pytest.raises(DeadlineCloudSetupError, match="no Deadline Cloud queue chosen"):
        resolve_farm_and_queue(FARM)


def test_the_submitted_job_carries_its_own_lrc_toolbox(tmp_path: Path, s3_queue: Any) -> None:
    """The job's parameters name the bundle's copy of lrc_toolbox and its files travel with
    the job (job attachments), so a worker needs nothing but Maya from conda."""
    scene = scene_elsewhere(tmp_path)
    folder, _ = conda_bundle(tmp_path, scene)
    submit_to_deadline_cloud(
        folder,
        FARM,
        QUEUE,
        approve_attachments=True,
        known_paths=[str(scene.parent)],
        print_function=lambda _: None,
    )
    (create,) = s3_queue.named("CreateJob")
    shipped = create["parameters"]["LrcToolboxPath"]
    assert Path(shipped["path"]) == (folder / "lrc_toolbox_bundle").resolve()
    data = s3_objects(s3_queue.s3, f"{ROOT_PREFIX}/Data/")
    run_chunk = folder / "lrc_toolbox_bundle" / "lrc_toolbox" / "farm" / "run_chunk.py"
    assert run_chunk.read_bytes() in data.values()
