#!/bin/bash
# Dev only, root only; start-up hook of start-slurm-pod. Creates the test users
# "<USER>.<PROJECT>" listed (space separated) in DEV_USER_CONFIG_UNIX_USERNAMES,
# mimicking the production account layout /home/<PROJECT>/<USER>.<PROJECT>.
# Idempotent: existing users are left alone.
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
done

for name in "${names[@]}"; do
  user=${name%%.*}
  project=${name#*.}
  if id -u "$name" >/dev/null 2>&1; then
    echo "create-dev-users: $name exists, skipping"
    continue
  fi
  mkdir -p "/home/$project"
  chmod 0755 "/home/$project"
  useradd --create-home --home-dir "/home/$project/$name" --shell /bin/bash \
    --user-group --groups jupyterusers --comment "$user $project" "$name"
  echo "create-dev-users: created $name"
done
