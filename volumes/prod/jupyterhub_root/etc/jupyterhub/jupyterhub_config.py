"""
JupyterHub configuration of prod: what differs from the shared one
(jh_slurm_hub.py, from volumes/_shared/).

Real (OIDC) authentication, the cluster reached over SSH, the hub API on all
interfaces for the jobs, and upstream's polling:
each poll is an ssh + squeue round trip to slurmctld, so running servers are
polled every minute and starting ones every 15 s, and JupyterHub's own
check decides when a server is up.
"""

import sys

sys.path.insert(0, "/etc/jupyterhub")
import jh_slurm_hub

jh_slurm_hub.configure(
    get_config(),  # noqa: F821
    authenticator="oidc",
    **jh_slurm_hub.EXTERNAL_SLURM,
    **jh_slurm_hub.UPSTREAM_POLLING,
)
