"""
JupyterHub configuration of dev_dummyauth: what differs from the shared one
(jh_slurm_hub.py, from volumes/_shared/).

Slurm runs in the pod's other container, so sshd is at localhost and the
jobs reach the hub API on the shared loopback. The login asks for the run's
dev password instead of an OIDC token. Servers are polled often while they
start, and reported started as soon as they answer: a dev model, not a
cluster to spare.
"""

import sys

sys.path.insert(0, "/etc/jupyterhub")
import jh_slurm_hub

jh_slurm_hub.configure(
    get_config(),  # noqa: F821
    authenticator=jh_slurm_hub.dummy_authenticator(),
    **jh_slurm_hub.SLURM_IN_POD,
    **jh_slurm_hub.DEV_POLLING,
)
