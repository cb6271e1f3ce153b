"""
Loads the hub configuration's shared module, jh_slurm_hub.py, as the hub
does (its folder on sys.path), in the environment the launcher gives the
hub container. jupyterhub and batchspawner are the real packages at the hub
image's pins (bin/python-tools.mjs installs them); bricsauthenticator is the
real package at its pin, which test/python/prepare.ts clones and installs
(npm run test:python runs it first). The pod facts (ports, the job output's
name, the deploy settings' variables) are the launcher's own
(scripts/lib/pod-facts.ts), as prepare.ts wrote them.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUB_CONFIG_DIR = ROOT / "volumes/_shared/jupyterhub_root/etc/jupyterhub"
POD_FACTS = ROOT / "test-output/python/pod-facts.json"

if not POD_FACTS.is_file():
    raise RuntimeError(f"{POD_FACTS} is missing: run the tests with `npm run test:python` (it runs prepare.ts first)")
os.environ.update(json.loads(POD_FACTS.read_text()))
sys.path.insert(0, str(HUB_CONFIG_DIR))
