"""
JupyterHub configuration of dev: upstream's development environment with
the real login. As dev_realauth (the OIDC ID token in X-Auth-Id-Token,
verified against the issuer in the deploy settings), plus groups and an
admin role:

- the login names the user's groups (the token's "groups" claim), and the
  hub keeps each user's membership as the login says (manage_groups);
- members of brics-admins get the role brics-admin: the admin page, seeing
  and stopping anyone's server, reading users, groups, roles and services.

With the development issuer, the deploy setting devIssuerAdmins says who is
in brics-admins. The spawn page's template is the shared one (templates/
beside jh_slurm_hub.py), with the deploy setting announcement.
"""

import sys

sys.path.insert(0, "/etc/jupyterhub")
import jh_slurm_hub

c = get_config()  # noqa: F821
jh_slurm_hub.configure(
    c,
    authenticator="oidc",
    **jh_slurm_hub.SLURM_IN_POD,
    **jh_slurm_hub.DEV_POLLING,
)

c.Authenticator.manage_groups = True
c.JupyterHub.load_roles = [
    {
        "name": "brics-admin",
        "description": "BriCS administrators: the admin page, everyone's servers, users and groups",
        "groups": ["brics-admins"],
        "scopes": [
            "admin-ui",
            "read:servers",
            "delete:servers",
            "read:groups",
            "list:groups",
            "read:roles",
            "read:users",
            "list:users",
            "read:services",
            "list:services",
            "access:services",
        ],
    }
]
