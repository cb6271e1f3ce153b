"""
Loads the hub configuration's shared module, jh_slurm_hub.py, as the hub
does (its folder on sys.path). jupyterhub and batchspawner are the real
packages at the hub image's pins (bin/python-tools.mjs installs them).
bricsauthenticator is not on PyPI (the image installs it from its git
repository), so a stand-in takes its place: BricsAuthenticator is
JupyterHub's plain Authenticator, and BricsSlurmSpawner is batchspawner's
SlurmSpawner, whose behaviour the module builds on (bricsauthenticator's
spawner adds only the project form and the Unix user of the project).
"""

import sys
import types
from pathlib import Path

import batchspawner
from jupyterhub.auth import Authenticator

HUB_CONFIG_DIR = Path(__file__).resolve().parents[2] / "volumes/_shared/jupyterhub_root/etc/jupyterhub"


def _stand_in_bricsauthenticator():
    package = types.ModuleType("bricsauthenticator")
    package.BricsAuthenticator = type("BricsAuthenticator", (Authenticator,), {})
    spawner = types.ModuleType("bricsauthenticator.spawner")
    spawner.BricsSlurmSpawner = batchspawner.SlurmSpawner
    package.spawner = spawner
    sys.modules.setdefault("bricsauthenticator", package)
    sys.modules.setdefault("bricsauthenticator.spawner", spawner)


_stand_in_bricsauthenticator()
sys.path.insert(0, str(HUB_CONFIG_DIR))
