"""
The spawner logic of the hub configuration (jh_slurm_hub.py): the job
watcher that fails a spawn when its job ends before the server starts, and
the messages a user reads. The spawner is the module's real SlurmSpawner on
batchspawner 1.3; only Slurm is faked, as the answers `squeue` gives through
run_command (conftest.py says what stands in for bricsauthenticator).
"""

import asyncio
import json
import os
from unittest import mock

import batchspawner
import jh_slurm_hub as jh
import pytest
from batchspawner import JobStatus
from jupyterhub.objects import Hub
from tornado import web

# The home of testuser.project1 as the real spawner lays it out: /home/<project>/<user>.<project>.
HOME = "/home/project1/testuser.project1"
JOB_ID = "42"

# ------------------------------------------------------------ the decisions


def test_pending_job_is_not_queried_by_the_watcher():
    watch = jh.JobWatch()
    assert not watch.should_query(0, lambda: False)
    assert not watch.should_query(0, lambda: False)


def test_running_job_is_queried_until_the_port_is_known():
    watch = jh.JobWatch()
    assert watch.should_query(0, lambda: True)
    # Once seen running, the watcher asks on, whatever batchspawner's last state says.
    assert watch.should_query(0, lambda: False)
    assert not watch.should_query(8888, lambda: True)


def test_port_known_before_the_job_was_seen_running_means_no_query():
    watch = jh.JobWatch()
    assert not watch.should_query(8888, lambda: True)


def test_job_gone_twice_in_a_row_has_ended():
    watch = jh.JobWatch()
    assert not watch.job_ended(JobStatus.NOTFOUND)
    assert watch.job_ended(JobStatus.NOTFOUND)


@pytest.mark.parametrize("between", [JobStatus.RUNNING, JobStatus.PENDING, JobStatus.UNKNOWN])
def test_job_gone_once_then_seen_again_has_not_ended(between):
    watch = jh.JobWatch()
    assert not watch.job_ended(JobStatus.NOTFOUND)
    assert not watch.job_ended(between)
    assert not watch.job_ended(JobStatus.NOTFOUND)
    assert watch.job_ended(JobStatus.NOTFOUND)


# ------------------------------------------------- the spawner, Slurm faked

GONE = ""  # squeue prints nothing for a job it no longer knows
SSH_FAILS = RuntimeError("ssh: connect to host slurm port 22: Connection refused")
PORT = object()  # the job reports its server's port (batchspawner's API handler sets it)


class FakeSlurm:
    """squeue's answers in turn (the last one repeated); records each query."""

    def __init__(self, spawner, answers):
        self.spawner = spawner
        self.answers = list(answers)
        self.queries = 0

    async def run_command(self, cmd, input=None, env=None):
        assert "slurmspawner_squeue" in cmd, cmd
        assert f"SLURMSPAWNER_JOB_ID={JOB_ID}" in cmd, cmd
        self.queries += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is PORT:
            self.spawner.port = 8888
            return "RUNNING node1"
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_spawner(answers, *, submit_error=None):
    user = mock.Mock()
    user.name = user.escaped_name = "testuser"
    user.url = "/user/testuser/"
    spawner = jh.SlurmSpawner(
        user=user,
        hub=Hub(),
        # Its default reads the user's environment, which looks the user up on this host.
        req_keepvars="JUPYTERHUB_API_TOKEN",
        startup_poll_interval=0.001,
        exec_prefix="ssh jupyterspawner@slurm sudo -u {username}",
        batch_query_cmd="SLURMSPAWNER_JOB_ID={{job_id}} /opt/wrappers/slurmspawner_squeue",
    )
    spawner.db = mock.Mock()
    # The user's projects as the login gives them, and the spawn form filled as a user fills it.
    spawner.brics_projects = {"project1.brics": {"name": "Dev project project1", "username": "testuser.project1"}}
    form = {"brics_project": ["project1.brics"], "runtime": ["01:00:00"], "ngpus": ["1"], "partition": [""]}
    spawner.user_options = spawner.run_options_from_form({**form, "reservation": [""]})
    assert spawner.req_homedir == HOME
    slurm = FakeSlurm(spawner, answers)
    spawner.run_command = slurm.run_command

    async def sbatch(self):
        # batchspawner's submit_batch_script: sbatch over ssh, then the job id from its output.
        if submit_error:
            raise submit_error
        self.job_id = JOB_ID
        return JOB_ID

    return spawner, slurm, mock.patch.object(batchspawner.BatchSpawnerBase, "submit_batch_script", sbatch)


def start(spawner, patch):
    with patch:
        return asyncio.run(asyncio.wait_for(spawner.start(), timeout=10))


def test_pending_then_running_then_port_known_starts_the_server():
    spawner, slurm, patch = make_spawner(["PENDING", "PENDING", "RUNNING node1", "RUNNING node1", PORT])
    assert start(spawner, patch) == ("node1", 8888)
    assert slurm.queries == 5
    assert spawner.submitted_job_id == JOB_ID


def test_running_job_gone_twice_fails_the_spawn_naming_its_output_file():
    spawner, slurm, patch = make_spawner(["RUNNING node1", GONE, GONE])
    with pytest.raises(web.HTTPError) as raised:
        start(spawner, patch)
    error = raised.value
    assert error.status_code == 500
    assert error.log_message % error.args == f"job {JOB_ID} ended before its server started"
    assert error.jupyterhub_message == (
        f"Job {JOB_ID} ended before its notebook server started. Its output says why: "
        f"{HOME}/{os.environ['JH_SLURM_JOB_OUTPUT'].replace('%j', str(JOB_ID))}"
        f" (on the host running the pod: jh-slurm-pod logs <env> job {JOB_ID})"
    )
    assert error.headers == {}
    assert slurm.queries == 3, "one query finding it running, then two finding it gone"


def test_one_failed_query_is_not_the_jobs_end():
    spawner, slurm, patch = make_spawner(["RUNNING node1", SSH_FAILS, "RUNNING node1", SSH_FAILS, PORT])
    assert start(spawner, patch) == ("node1", 8888)
    assert slurm.queries == 5


def test_job_gone_while_pending_fails_the_spawn_with_the_submitted_job_id():
    # batchspawner's own finding ("disappeared ..."); it forgets the job id, the spawner does not.
    spawner, slurm, patch = make_spawner(["PENDING", GONE])
    with pytest.raises(web.HTTPError) as raised:
        start(spawner, patch)
    assert raised.value.log_message % raised.value.args == f"job {JOB_ID} ended before its server started"
    assert spawner.job_id == ""
    assert slurm.queries == 2


def test_port_known_stops_the_watcher_even_if_the_job_then_looks_gone():
    # The port arrives with the answer of the watcher's query: the watcher acts on no later answer.
    spawner, slurm, patch = make_spawner(["RUNNING node1", PORT, GONE])
    assert start(spawner, patch) == ("node1", 8888)
    assert slurm.queries == 2


def test_a_refused_submission_comes_back_with_sbatchs_message():
    refused = RuntimeError("sbatch: error: Batch job submission failed: Requested node configuration is not available")
    spawner, slurm, patch = make_spawner(["RUNNING node1"], submit_error=refused)
    with pytest.raises(web.HTTPError) as raised:
        start(spawner, patch)
    assert raised.value.jupyterhub_message == f"The job could not be submitted: {refused}"
    assert raised.value.__cause__ is refused
    assert slurm.queries == 0


# ------------------------------------------------- accounting and limits

OVER_LIMIT = (
    "sbatch: error: QOSGrpGRES\n"
    "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy"
    " (job submit limit, user's size and/or time limits)"
)


def test_project_limits_are_read_from_the_deploy_setting(monkeypatch):
    monkeypatch.setenv("DEPLOY_CONFIG_SLURM_PROJECT_LIMITS", "project2:gpus=2 project3:gpus=0")
    assert jh.project_gpu_limits() == {"project2": 2, "project3": 0}
    monkeypatch.setenv("DEPLOY_CONFIG_SLURM_PROJECT_LIMITS", "")
    assert jh.project_gpu_limits() == {}
    monkeypatch.setenv("DEPLOY_CONFIG_SLURM_PROJECT_LIMITS", "project2:gpus=two")
    with pytest.raises(RuntimeError, match="bad entry"):
        jh.project_gpu_limits()


def test_the_form_names_the_limits_of_the_users_projects_only():
    projects = {"project1.brics": {}, "project2.brics": {}}
    note = jh.limits_note(projects, {"project2": 2, "project9": 1})
    assert "project2.brics: at most 2 GPUs" in note
    assert "project1" not in note
    assert "project9" not in note
    assert jh.limits_note(projects, {}) == ""


def test_a_job_over_its_projects_limit_is_explained_with_slurms_reason():
    said = jh.explain_refusal(" ".join(OVER_LIMIT.split()), "project2.brics", "3", {"project2": 2})
    assert said.startswith("Your project project2.brics may use at most 2 GPUs at a time, and this job asked for 3.")
    assert "QOSGrpGRES" in said
    assert "accounting/QOS policy" in said


def test_a_job_on_an_account_the_user_may_not_use_is_explained():
    reason = "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"
    said = jh.explain_refusal(reason, "project2.brics", "1", {})
    assert said.startswith("Slurm has no account project2 for project project2.brics that you may use")
    assert reason in said


def test_a_refused_submission_over_the_limit_comes_back_in_plain_words(monkeypatch):
    monkeypatch.setenv("DEPLOY_CONFIG_SLURM_PROJECT_LIMITS", "project2:gpus=2")
    refused = RuntimeError(OVER_LIMIT)
    spawner, slurm, patch = make_spawner(["RUNNING node1"], submit_error=refused)
    spawner.user_options = {"brics_project": "project2.brics", "ngpus": "3"}
    with pytest.raises(web.HTTPError) as raised:
        start(spawner, patch)
    assert "may use at most 2 GPUs at a time, and this job asked for 3" in raised.value.jupyterhub_message
    assert slurm.queries == 0


# ---------------------------------------------------------- configuration


def test_deploy_settings_come_through_the_variables_the_launcher_names(monkeypatch):
    variables = json.loads(os.environ["JH_SLURM_DEPLOY_VARIABLES"])
    assert variables["slurmSpawnerWrappersBin"] == "DEPLOY_CONFIG_SLURM_SPAWNER_WRAPPERS_BIN"
    monkeypatch.setenv("DEPLOY_CONFIG_SLURM_SPAWNER_WRAPPERS_BIN", "/opt/wrappers")
    assert jh.deploy_setting("slurmSpawnerWrappersBin") == "/opt/wrappers"
    monkeypatch.delenv("DEPLOY_CONFIG_SSH_HOSTNAME", raising=False)
    with pytest.raises(RuntimeError, match="DEPLOY_CONFIG_SSH_HOSTNAME must be set"):
        jh.deploy_setting("sshHostname")
    monkeypatch.delenv("DEPLOY_CONFIG_ANNOUNCEMENT", raising=False)
    assert jh.optional_deploy_setting("announcement") == ""
    with pytest.raises(RuntimeError, match="sshHostnam is not a deploy setting"):
        jh.deploy_setting("sshHostnam")


def test_the_batch_script_writes_the_output_file_the_messages_name(monkeypatch, tmp_path):
    from traitlets.config import Config

    (tmp_path / "ssh_key").write_text("key")
    monkeypatch.setattr(jh, "SRV_DIR", tmp_path)
    for key, value in {
        "LOG_LEVEL": "INFO",
        "BASE_URL": "/jupyter/",
        "HUB_CONNECT_URL": "http://hub.example:1234",
        "JUPYTER_USER_ENV_DIR": "/opt/env",
        "JUPYTER_DATA_DIR": "/opt/data",
        "SSH_HOSTNAME": "localhost",
        "SLURM_SPAWNER_WRAPPERS_BIN": "/opt/wrappers",
    }.items():
        monkeypatch.setenv(f"DEPLOY_CONFIG_{key}", value)
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", "0" * 64)
    c = Config()
    jh.configure(c, authenticator="dummy", **jh.SLURM_IN_POD, **jh.DEV_POLLING)
    script = c.BatchSpawnerBase.batch_script
    output = os.environ["JH_SLURM_JOB_OUTPUT"]
    assert script.startswith(f"#!/bin/bash\n#SBATCH --output={{{{homedir}}}}/{output}\n")
    assert "<JOB_OUTPUT>" not in script
    assert c.JupyterHub.spawner_class is jh.ReadyWaitingSlurmSpawner
    assert c.BatchSpawnerBase.batch_query_cmd == "SLURMSPAWNER_JOB_ID={{job_id}} /opt/wrappers/slurmspawner_squeue"


def test_a_start_cut_short_by_the_hub_stopping_cancels_its_job():
    # apply restarts the hub: the next hub would not know the job, which would run on unseen.
    spawner, slurm, patch = make_spawner(["PENDING"])
    cancelled = []

    async def cancel_batch_job(self):
        cancelled.append(self.job_id)

    async def stop_hub_while_pending():
        task = asyncio.ensure_future(spawner.start())
        await asyncio.sleep(0.05)  # the job submitted and pending (a query each 0.001 s)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with patch, mock.patch.object(batchspawner.BatchSpawnerBase, "cancel_batch_job", cancel_batch_job):
        asyncio.run(asyncio.wait_for(stop_hub_while_pending(), timeout=10))
    assert slurm.queries > 1
    assert cancelled == [JOB_ID]


def test_a_start_cut_short_during_sbatch_cancels_the_job_sbatch_then_gives():
    # The hub stops while sbatch is still on its way. JupyterHub's shutdown
    # cancels every task of its loop (JupyterHub.shutdown_cancel_tasks), the
    # submission's too: the job sbatch submits must not run on unseen.
    spawner, _slurm, _ = make_spawner(["PENDING"])
    del spawner.run_command  # batchspawner's own, through the spawner's: sbatch is a real command here
    spawner.exec_prefix = ""
    spawner.batch_submit_cmd = "cat >/dev/null; sleep 0.3; echo 'Submitted batch job' >&2; echo 4242"
    cancelled = []

    async def cancel_batch_job(self):
        cancelled.append(self.job_id)

    submitting = asyncio.Event()
    in_thread = jh.in_thread

    def sbatch_under_way(function):
        submitting.set()
        return in_thread(function)

    async def stop_hub_during_sbatch():
        test_tasks = asyncio.all_tasks()
        task = asyncio.ensure_future(spawner.start())
        await submitting.wait()
        others = asyncio.all_tasks() - test_tasks
        for other in others:
            other.cancel()
        await asyncio.wait(others)
        assert task.cancelled()

    with (
        mock.patch.object(batchspawner.BatchSpawnerBase, "cancel_batch_job", cancel_batch_job),
        mock.patch.object(jh, "in_thread", sbatch_under_way),
    ):
        asyncio.run(asyncio.wait_for(stop_hub_during_sbatch(), timeout=10))
    assert cancelled == ["4242"]


# ------------------------------------------------------- a job that waits


def test_a_pending_jobs_reason_is_told_in_words_then_as_slurm_says_it():
    assert jh.pending_message("Resources").startswith("Waiting in Slurm's queue: the GPUs it asks for are in use")
    assert jh.pending_message("Resources").endswith("(Slurm's reason: Resources)")
    assert jh.pending_message("ReqNodeNotAvail") == "Waiting in Slurm's queue. (Slurm's reason: ReqNodeNotAvail)"
    assert jh.pending_message("") == jh.pending_message("None") == "Pending in queue..."


def test_the_spawn_page_shows_why_a_pending_job_waits():
    spawner, _, _ = make_spawner(["PENDING n/a"])
    spawner.pending_reason_cmd = "ssh jupyterspawner@slurm squeue --noheader --format=%r --jobs={job_id}"
    spawner.job_id = JOB_ID
    spawner.job_status = "PENDING n/a"
    asked = []

    async def run_command(cmd, input=None, env=None):
        asked.append(cmd)
        return "Resources\n"

    spawner.run_command = run_command

    async def first_message():
        async for event in spawner.progress():
            return event["message"]

    message = asyncio.run(first_message())
    assert asked == [f"ssh jupyterspawner@slurm squeue --noheader --format=%r --jobs={JOB_ID}"]
    assert message == jh.pending_message("Resources")
