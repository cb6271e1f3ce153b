"""
JupyterHub configuration: dev environment with real BriCS (OIDC) authentication.

The hub runs in one container of a pod; Slurm (with sshd) runs in the other.
Both share the pod's network namespace, so sshd is at localhost:22 and
single-user servers (Slurm jobs) reach the hub API at 127.0.0.1:8081.

Users arrive through an authenticating proxy (Zenith) that forwards their
OIDC ID token in the X-Auth-Id-Token header; BricsAuthenticator verifies it.
Everything else matches dev_dummyauth.
"""

import os
from pathlib import Path

# Importing batchspawner registers its /hub/api/batchspawner handler, through
# which the job reports the port the single-user server listens on. Import it
# here so that the handler exists before the hub builds its web application.
import batchspawner  # noqa: F401

c = get_config()  # noqa: F821


def require_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"Environment variable {name} must be set for this JupyterHub configuration")
    return value


# Files the pod mounts into the hub's srv dir (ssh_key) and the hub's own
# state (database, cookie secret) live here.
SRV_DIR = Path(os.environ.get("JUPYTERHUB_SRV_DIR", "/srv/jupyterhub"))

# ----------------------------------------------------------------- network

# The public proxy listens on all interfaces under /jupyter; the hub API only
# on loopback, which the Slurm jobs share with us (same pod network namespace).
c.JupyterHub.bind_url = "http://:8000/jupyter"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"

# Keep Slurm jobs running when the hub stops, so a restarted hub reconnects to
# them instead of cancelling every user's session.
c.JupyterHub.cleanup_servers = False

# ----------------------------------------------------------------- authentication

# BricsAuthenticator's /hub/login verifies the ID token from the
# X-Auth-Id-Token header: signature (keys from the issuer's JWKS), audience,
# issuer, expiry. The short_name claim is the user name and
# the projects claim becomes auth_state.
c.JupyterHub.authenticator_class = "brics"

# Deploy settings (config/dev_realauth/deploy-config.yaml, or a file given
# with --deploy-config), passed in as DEPLOY_CONFIG_* variables by the
# deploy-config ConfigMap: the issuer (the tokens' "iss"; the hub fetches
# <issuer>/.well-known/openid-configuration and its JWKS), the platform whose
# project resources grant access, the expected audience and the clock skew
# allowed.
c.BricsAuthenticator.oidc_server = require_env("DEPLOY_CONFIG_OIDC_SERVER")
c.BricsAuthenticator.brics_platform = require_env("DEPLOY_CONFIG_BRICS_PLATFORM")
c.BricsAuthenticator.jwt_audience = require_env("DEPLOY_CONFIG_JWT_AUDIENCE")
c.BricsAuthenticator.jwt_leeway = float(require_env("DEPLOY_CONFIG_JWT_LEEWAY"))

# auth_state carries the user's projects from the authenticator to the
# spawner (auth_state_hook) and is persisted encrypted in the hub database.
# Encryption needs JUPYTERHUB_CRYPT_KEY, which the hub launcher exports.
require_env("JUPYTERHUB_CRYPT_KEY")
c.Authenticator.enable_auth_state = True

# Whoever holds a valid token may use the hub (JupyterHub 5 refuses everyone
# unless some allow rule is configured); the OIDC server decides who gets one.
c.Authenticator.allow_all = True

# ----------------------------------------------------------------- spawner

# BricsSlurmSpawner: the user picks a project; the job runs as the Unix user
# <user>.<project> through Slurm in the other container.
c.JupyterHub.spawner_class = "brics"

# Pass none of the hub's own environment (PATH, LANG, ...) into the job: it
# would describe the hub container, not the Slurm node. Only what get_env()
# computes travels, and that list becomes the batch script's {{keepvars}}.
c.Spawner.env_keep = []

# Tell the batch script where the Slurm image installed Jupyter. Prefixed
# JUPYTERHUB_ so the Slurm side's sudoers (env_keep JUPYTERHUB_*) lets them
# through `sudo`.
c.Spawner.environment = {
    "JUPYTERHUB_BRICS_MINIFORGE_PREFIX_DIR": "/opt/jupyter/miniforge3",
    "JUPYTERHUB_BRICS_OPT_JUPYTER_DIR": "/opt/jupyter",
}

# Start in the job user's home directory.
c.Spawner.notebook_dir = "~/"

# Queueing plus starting a server in a job can take a while.
c.Spawner.start_timeout = 420

# Every poll is an ssh + squeue round trip to slurmctld: poll running servers
# every minute (default 30 s) and starting ones every 5 s (default 0.5 s).
c.Spawner.poll_interval = 60
c.BatchSpawnerBase.startup_poll_interval = 5.0

# sbatch --export passes only {{keepvars}} into the job and srun by default
# passes only what sbatch exported; --export=ALL makes srun pass the whole
# batch script environment (including the activated Python environment).
c.BatchSpawnerBase.req_srun = "srun --export=ALL"

# Slurm commands run in the Slurm container: ssh to its sshd as
# jupyterspawner, which sudoers allows to run the slurmspawner wrappers as
# any job user. {username} is the job's Unix user (<user>.<project>).
SSH_KEY = SRV_DIR / "ssh_key"
if not SSH_KEY.is_file():
    raise RuntimeError(f"SSH private key for reaching the Slurm container not found at {SSH_KEY}")
c.BatchSpawnerBase.exec_prefix = f"ssh -i {SSH_KEY} jupyterspawner@localhost sudo -u {{username}}"

SLURMSPAWNER_WRAPPERS_BIN = "/opt/jupyter/slurmspawner_wrappers/bin"

# ssh does not forward the environment, so pass each variable in keepvars to
# the remote `sudo` as VAR=value arguments. The command (exec_prefix + this)
# runs in a shell on the hub side with the job environment (get_env()), so:
#   {{var}}="'${VAR}'"   hub shell expands ${VAR} inside the double quotes and
#                        keeps the single quotes, which protect the value from
#                        the remote login shell ssh hands the command to.
# (Values must not contain single quotes; JupyterHub's do not.)
c.BatchSpawnerBase.batch_submit_cmd = (
    "{% for var in keepvars.split(',') %}"
    "{{ var }}=\"'${{ '{' ~ var ~ '}' }}'\" "
    "{% endfor %}"
    f"{SLURMSPAWNER_WRAPPERS_BIN}/slurmspawner_sbatch"
)
# The wrappers take no arguments (sudoers allows exact command lines): the
# job id travels as SLURMSPAWNER_JOB_ID, an assignment the remote sudo applies.
c.BatchSpawnerBase.batch_query_cmd = f"SLURMSPAWNER_JOB_ID={{{{job_id}}}} {SLURMSPAWNER_WRAPPERS_BIN}/slurmspawner_squeue"
c.BatchSpawnerBase.batch_cancel_cmd = f"SLURMSPAWNER_JOB_ID={{{{job_id}}}} {SLURMSPAWNER_WRAPPERS_BIN}/slurmspawner_scancel"

# batchspawner 1.3's SlurmSpawner script plus: activation of the user
# environment the Slurm image provides, Jupyter data files from /opt/jupyter,
# and --gpus left commented out (the dev Slurm has no GPUs).
c.BatchSpawnerBase.batch_script = """#!/bin/bash
#SBATCH --output={{homedir}}/jupyterhub_slurmspawner_%j.log
#SBATCH --job-name=spawner-jupyterhub
#SBATCH --chdir={{homedir}}
#SBATCH --export={{keepvars}}
#SBATCH --get-user-env=L
{% if partition  %}#SBATCH --partition={{partition}}
{% endif %}{% if runtime    %}#SBATCH --time={{runtime}}
{% endif %}{% if memory     %}#SBATCH --mem={{memory}}
{% endif %}{% if gres       %}#SBATCH --gres={{gres}}
{% endif %}{% if ngpus      %}##SBATCH --gpus={{ngpus}}  (disabled: no GPUs in the dev Slurm)
{% endif %}{% if nprocs     %}#SBATCH --cpus-per-task={{nprocs}}
{% endif %}{% if reservation%}#SBATCH --reservation={{reservation}}
{% endif %}{% if options    %}#SBATCH {{options}}{% endif %}

set -eo pipefail

# The Slurm image provides either a conda env in miniforge or a plain venv.
# Activate before `set -u`: activate scripts use unset variables.
if [ -f "${JUPYTERHUB_BRICS_MINIFORGE_PREFIX_DIR}/bin/activate" ]; then
  source "${JUPYTERHUB_BRICS_MINIFORGE_PREFIX_DIR}/bin/activate" jupyter-user-env
else
  source "${JUPYTERHUB_BRICS_OPT_JUPYTER_DIR}/jupyter-user-env/bin/activate"
fi

set -u

export JUPYTER_PATH="${JUPYTERHUB_BRICS_OPT_JUPYTER_DIR}/jupyter_data${JUPYTER_PATH:+:${JUPYTER_PATH}}"

trap 'echo SIGTERM received' TERM
{{prologue}}
{% if srun %}{{srun}} {% endif %}{{cmd}}
echo "jupyterhub-singleuser ended gracefully"
{{epilogue}}
"""
