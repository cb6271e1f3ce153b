#!/bin/bash
# Dev only, root only; start-up hook of start-slurm-pod. Creates the test users
# "<USER>.<PROJECT>" listed (space separated) in DEV_USER_CONFIG_UNIX_USERNAMES,
# mimicking the production layout: a group per project, private homes
# /home/<PROJECT>/<USER>.<PROJECT> (0700), and project storage
# /projects/<PROJECT> that only the project's members may use, with
# /projects/public/<PROJECT> (linked as /projects/<PROJECT>/public) that they
# write and everyone reads; then each project's Slurm account
# (sync-slurm-accounts). Idempotent: existing users are left alone.
set -euo pipefail
set -f # the list is split on spaces; never glob-expand its words

names=(${DEV_USER_CONFIG_UNIX_USERNAMES:-})
part_re='^[a-z_][a-z0-9_-]*$'

# Validate everything first: these names reach useradd and sudo command lines,
# and a half-created set of users would be confusing.
for name in "${names[@]}"; do
  user=${name%%.*}
  project=${name#*.}
  if [[ $name != *.* || ! $user =~ $part_re || ! $project =~ $part_re || ${#name} -gt 32 ]]; then
    echo "create-dev-users: invalid name '$name' in DEV_USER_CONFIG_UNIX_USERNAMES:" \
      "expected <USER>.<PROJECT>, each part matching $part_re, at most 32 characters in all" >&2
    exit 1
  fi
  # The project becomes a group: never let it name a system group (sudo, ...).
  gid=$(getent group "$project" | cut -d: -f3 || true)
  if [[ -n $gid ]] && ((gid < 1000)); then
    echo "create-dev-users: project '$project' of '$name' is the name of a system group" >&2
    exit 1
  fi
done

# /projects/<PROJECT>: the members' shared storage (setgid, so files stay the
# project's), and its public half, readable by all.
make_project() {
  local project=$1
  getent group "$project" >/dev/null || groupadd "$project"
  install -d -m 0755 -o root -g root "/home/$project" /projects /projects/public
  install -d -m 2770 -o root -g "$project" "/projects/$project"
  install -d -m 2775 -o root -g "$project" "/projects/public/$project"
  ln -sfn "/projects/public/$project" "/projects/$project/public"
}

for name in "${names[@]}"; do
  user=${name%%.*}
  project=${name#*.}
  if id -u "$name" >/dev/null 2>&1; then
    echo "create-dev-users: $name exists, skipping"
    continue
  fi
  make_project "$project"
  useradd --create-home --home-dir "/home/$project/$name" --shell /bin/bash \
    --user-group --groups "jupyterusers,$project" --comment "$user $project" "$name"
  # useradd's mode follows login.defs (0755 on Debian); homes are private.
  chmod 0700 "/home/$project/$name"
  echo "create-dev-users: created $name"
done

# Their projects' Slurm accounts and associations (where Slurm keeps accounting).
/usr/local/sbin/sync-slurm-accounts
