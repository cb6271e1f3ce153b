#!/bin/bash
# Dev only, root only; start-up hook of start-slurm-pod. Creates the test users
# "<USER>.<PROJECT>" listed (space separated) in DEV_USER_CONFIG_UNIX_USERNAMES,
# mimicking the production layout: a group per project, private homes
# /home/<PROJECT>/<USER>.<PROJECT> (0700), and project storage
# /projects/<PROJECT> that only the project's members may use, with
# /projects/public/<PROJECT> (linked as /projects/<PROJECT>/public) that they
# write and everyone reads; then each project's Slurm account
# (sync-slurm-accounts). Idempotent: existing users are left alone.
#
# The homes live in a volume (/home) that outlives this container and that
# the compute nodes mount too: a user whose home is there already gets the
# uid and gid its home is owned by, and a project the gid of /home/<PROJECT>,
# so that a replaced container or another node has the same ids. Those are
# made first, then the new ones (which take the next free ids, in the same
# order everywhere).
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

# The gid a directory records, when it is not root's.
recorded_gid() {
  local gid
  [[ -d $1 ]] || return 0
  gid=$(stat -c %g "$1")
  ((gid != 0)) && echo "$gid"
  return 0
}

# /projects/<PROJECT>: the members' shared storage (setgid, so files stay the
# project's), and its public half, readable by all. /home/<PROJECT> records
# the project's gid (its group).
make_project() {
  local project=$1 gid
  if ! getent group "$project" >/dev/null; then
    gid=$(recorded_gid "/home/$project")
    groupadd ${gid:+--gid "$gid"} "$project"
  fi
  install -d -m 0755 -o root -g root /projects /projects/public
  install -d -m 0755 -o root -g "$project" "/home/$project"
  install -d -m 2770 -o root -g "$project" "/projects/$project"
  install -d -m 2775 -o root -g "$project" "/projects/public/$project"
  ln -sfn "/projects/public/$project" "/projects/$project/public"
}

# A user whose home is in the volume already: its ids, from the home's owner.
make_recorded_user() {
  local name=$1 user=$2 project=$3 home=$4 uid gid
  uid=$(stat -c %u "$home")
  gid=$(stat -c %g "$home")
  getent group "$name" >/dev/null || groupadd --gid "$gid" "$name"
  useradd --no-create-home --home-dir "$home" --shell /bin/bash --uid "$uid" --gid "$gid" \
    --groups "jupyterusers,$project" --comment "$user $project" "$name"
  echo "create-dev-users: $name (uid $uid) has its home already"
}

make_new_user() {
  local name=$1 user=$2 project=$3 home=$4
  useradd --create-home --home-dir "$home" --shell /bin/bash \
    --user-group --groups "jupyterusers,$project" --comment "$user $project" "$name"
  # useradd's mode follows login.defs (0755 on Debian); homes are private.
  chmod 0700 "$home"
  echo "create-dev-users: created $name"
}

# First the ids recorded in the volume, so that a new one cannot take them.
for name in "${names[@]}"; do
  project=${name#*.}
  home=/home/$project/$name
  [[ -n $(recorded_gid "/home/$project") ]] && make_project "$project"
  if ! id -u "$name" >/dev/null 2>&1 && [[ -d $home && $(stat -c %u "$home") != 0 ]]; then
    make_project "$project"
    make_recorded_user "$name" "${name%%.*}" "$project" "$home"
  fi
done
for name in "${names[@]}"; do
  id -u "$name" >/dev/null 2>&1 && continue
  project=${name#*.}
  make_project "$project"
  make_new_user "$name" "${name%%.*}" "$project" "/home/$project/$name"
done

# Their projects' Slurm accounts and associations (where Slurm keeps
# accounting), made by the login node; a compute node (start-slurm-node) has none to make.
[[ ${SLURM_POD_ROLE:-} == node ]] || /usr/local/sbin/sync-slurm-accounts
