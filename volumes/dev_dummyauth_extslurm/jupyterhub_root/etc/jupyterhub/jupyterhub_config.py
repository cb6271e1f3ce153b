"""
JupyterHub configuration of dev_dummyauth_extslurm: what differs from the
shared one (jh_slurm_hub.py, from volumes/_shared/).

The hub runs alone; jobs run on an existing Slurm cluster, reached over SSH
at the deploy setting sshHostname. The hub API listens on all interfaces,
since the jobs are elsewhere (they reach it at hubConnectUrl). The login is
the dummy one of dev_dummyauth; servers are polled often while they start.
"""

import sys

sys.path.insert(0, "/etc/jupyterhub")
import jh_slurm_hub

jh_slurm_hub.configure(
    get_config(),  # noqa: F821
    authenticator=jh_slurm_hub.dummy_authenticator(),
    **jh_slurm_hub.EXTERNAL_SLURM,
    **jh_slurm_hub.DEV_POLLING,
)
