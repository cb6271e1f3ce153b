"""
JupyterHub configuration of dev_realauth_nadir: what differs from the shared
one (jh_slurm_hub.py, from volumes/_shared/). The same as dev_realauth's: the
hub does not know that users reach it through the Nadir tunnel.

As dev_dummyauth, but users log in with an OIDC ID token in the
X-Auth-Id-Token header (as an authenticating proxy such as Zenith forwards
it), which BricsAuthenticator verifies against the issuer in the deploy
settings.
"""

import sys

sys.path.insert(0, "/etc/jupyterhub")
import jh_slurm_hub

jh_slurm_hub.configure(
    get_config(),  # noqa: F821
    authenticator="oidc",
    **jh_slurm_hub.SLURM_IN_POD,
    **jh_slurm_hub.DEV_POLLING,
)
