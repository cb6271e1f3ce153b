#!/usr/bin/env bash
# Baseline for the launcher benchmark (issue 10): a plain shell script that
# runs, one command after another, the podman and ssh-keygen work the original
# bash launcher did for a warm `up <env>` (clones present, image layers cached,
# no wait for the hub) and for `down`. Written for the benchmark from the
# behaviour described in SPEC §1; it is not the original script.
#
#   launcher.sh up <env>    launcher.sh down
#
# Inputs (environment; the defaults are the benchmark's trivial images and
# bench- names, so that running it by hand clashes with nothing):
#   JH_SLURM_PODMAN                 podman command, split on white space (podman)
#   BASELINE_ROOT                   holds volumes/<env>, config/<env> (the repository)
#   BASELINE_VOLUMES_DIR            volume sources (<root>/volumes/<env>)
#   BASELINE_DEV_USERS              dev users file (<root>/config/<env>/dev_users)
#   BASELINE_DEPLOY_CONFIG          deploy settings (<root>/config/<env>/deploy-config.yaml)
#   BASELINE_BUILD_TMP              parent of the temporary build directory
#   BASELINE_HUB_CONTEXT, BASELINE_SLURM_CONTEXT            build contexts
#   BASELINE_HUB_CONTAINERFILE, BASELINE_SLURM_CONTAINERFILE (<context>/Containerfile)
#   BASELINE_HUB_IMAGE, BASELINE_SLURM_IMAGE                 image tags
#   BASELINE_POD_TEMPLATE           the fixed Pod document
#   BASELINE_POD, BASELINE_HUB_VOLUME, BASELINE_SLURM_VOLUME, BASELINE_CONFIGMAP,
#   BASELINE_CLIENT_KEY_SECRET, BASELINE_HOST_KEY_SECRET     names (as in the template)
#   JUPYTERUSER[_UID], JUPYTERGROUP[_GID], SLURMUSER[_UID], SLURMGROUP[_GID]
# Paths must be absolute when podman runs in another mount namespace.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
trivial=$(cd "$here/../trivial-images" && pwd)
root=${BASELINE_ROOT:-$(cd "$here/../../.." && pwd)}
read -r -a podman <<< "${JH_SLURM_PODMAN:-podman}"

hub_context=${BASELINE_HUB_CONTEXT:-$trivial/hub}
slurm_context=${BASELINE_SLURM_CONTEXT:-$trivial/slurm}
hub_file=${BASELINE_HUB_CONTAINERFILE:-$hub_context/Containerfile}
slurm_file=${BASELINE_SLURM_CONTAINERFILE:-$slurm_context/Containerfile}
hub_image=${BASELINE_HUB_IMAGE:-localhost/bench-brics_jupyterhub:dev-latest}
slurm_image=${BASELINE_SLURM_IMAGE:-localhost/bench-brics_slurm:dev-latest}
pod_template=${BASELINE_POD_TEMPLATE:-$trivial/pod.yaml}
pod=${BASELINE_POD:-bench-jupyterhub-slurm}
hub_volume=${BASELINE_HUB_VOLUME:-bench-jupyterhub_root}
slurm_volume=${BASELINE_SLURM_VOLUME:-bench-slurm_root}
configmap=${BASELINE_CONFIGMAP:-bench-dev-user-config}
client_secret=${BASELINE_CLIENT_KEY_SECRET:-bench-jupyterhub-slurm-ssh-client-key}
host_secret=${BASELINE_HOST_KEY_SECRET:-bench-jupyterhub-slurm-ssh-host-key}
# The same work as the launcher it is compared with: deploy settings as a
# ConfigMap and the dummy login's password as a Secret too.
deploy_configmap=${BASELINE_DEPLOY_CONFIGMAP:-bench-deploy-config}
login_secret=${BASELINE_DEV_LOGIN_SECRET:-bench-jupyterhub-slurm-dev-login}

die() { echo "launcher.sh: $*" >&2; exit 1; }

# A volume from a tar of a directory, every entry owned by the given user and group.
make_volume() { # name source-dir user:uid group:gid
  "${podman[@]}" volume create "$1"
  tar -C "$2" --exclude=.gitkeep --owner="$3" --group="$4" -cf - . | "${podman[@]}" volume import "$1" -
}

configmap_doc() { # dev-users-file
  local users
  users=$(tr '\n' ' ' < "$1" | sed 's/[[:space:]]*$//')
  cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: $configmap
immutable: true
data:
  DEV_USER_CONFIG_UNIX_USERNAMES: "$users"
EOF
}

deploy_configmap_doc() { # deploy-config.yaml: each "key: value" becomes DEPLOY_CONFIG_<UPPER_SNAKE>
  echo "apiVersion: v1
kind: ConfigMap
metadata:
  name: $deploy_configmap
immutable: true
data:"
  grep -E '^[A-Za-z]+:' "$1" | while IFS=: read -r key value; do
    var=DEPLOY_CONFIG_$(printf '%s' "$key" | sed 's/\([a-z0-9]\)\([A-Z]\)/\1_\2/g' | tr '[:lower:]' '[:upper:]')
    value=$(printf '%s' "$value" | sed 's/^ *//; s/^"//; s/"$//')
    echo "  $var: \"$value\""
  done
}

login_secret_doc() { # password
  cat <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: $login_secret
immutable: true
type: Opaque
stringData:
  password: "$1"
EOF
}

secret_doc() { # name private-key-file
  local pub
  pub=$(cat "$2.pub")
  cat <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: $1
immutable: true
type: Opaque
stringData:
  ssh_key: |
$(sed 's/^/    /' "$2")
  ssh_key.pub: |
    $pub
  localhost_known_hosts: |
    localhost,127.0.0.1,::1 $pub
  localhost_authorized_keys: |
    from="localhost,127.0.0.1,::1" $pub
EOF
}

up() { # env
  local env=$1
  local volumes=${BASELINE_VOLUMES_DIR:-$root/volumes/$env}
  local dev_users=${BASELINE_DEV_USERS:-$root/config/$env/dev_users}
  local deploy_config=${BASELINE_DEPLOY_CONFIG:-$root/config/$env/deploy-config.yaml}
  local build_tmp=${BASELINE_BUILD_TMP:-$root/_build_tmp}
  [ -d "$volumes" ] || die "no volumes directory $volumes"
  [ -f "$dev_users" ] || die "no dev users file $dev_users"

  mkdir -p "$build_tmp"
  local tmp
  tmp=$(mktemp -d "$build_tmp/jh_slurm_pod_$env.XXXXXXXXXX")
  echo "build data: $tmp"
  echo "clone: skipped (the clones exist in a warm up)"

  "${podman[@]}" build --target=stage-dev -t "$hub_image" -f "$hub_file" "$hub_context"
  "${podman[@]}" build --target=stage-dev -t "$slurm_image" -f "$slurm_file" "$slurm_context"

  make_volume "$hub_volume" "$volumes/jupyterhub_root" \
    "${JUPYTERUSER:-root}:${JUPYTERUSER_UID:-0}" "${JUPYTERGROUP:-root}:${JUPYTERGROUP_GID:-0}"
  make_volume "$slurm_volume" "$volumes/slurm_root" \
    "${SLURMUSER:-slurm}:${SLURMUSER_UID:-64030}" "${SLURMGROUP:-slurm}:${SLURMGROUP_GID:-64030}"

  ssh-keygen -q -t ed25519 -N '' -C "JupyterHub-Slurm dev environment client key" -f "$tmp/ssh_client_key"
  ssh-keygen -q -t ed25519 -N '' -C "JupyterHub-Slurm dev environment host key" -f "$tmp/ssh_host_key"

  local manifest=$tmp/jh_slurm_pod_combined.yaml
  (
    umask 077
    {
      configmap_doc "$dev_users"
      echo ---
      secret_doc "$client_secret" "$tmp/ssh_client_key"
      echo ---
      secret_doc "$host_secret" "$tmp/ssh_host_key"
      echo ---
      deploy_configmap_doc "$deploy_config"
      echo ---
      login_secret_doc "$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
      echo ---
      cat "$pod_template"
    } > "$manifest"
  )

  "${podman[@]}" kube play "$manifest"
  echo "build data kept for debugging; delete it with: rm -rf $tmp"
}

# As the original: each resource is looked up first and the first missing one stops `down`.
down() {
  "${podman[@]}" pod exists "$pod" || die "pod $pod not found"
  "${podman[@]}" pod stop "$pod"
  "${podman[@]}" pod rm "$pod"
  local name
  for name in "$hub_volume" "$slurm_volume"; do
    "${podman[@]}" volume exists "$name" || die "volume $name not found"
    "${podman[@]}" volume rm "$name"
  done
  for name in "$client_secret" "$host_secret" "$login_secret"; do
    "${podman[@]}" secret inspect "$name" > /dev/null || die "secret $name not found"
    "${podman[@]}" secret rm "$name"
    # Older podman made a volume for each mounted Secret; today it is usually absent.
    if "${podman[@]}" volume exists "$name"; then "${podman[@]}" volume rm "$name"; fi
  done
}

case "${1:-}" in
  up) [ $# -eq 2 ] || die "usage: launcher.sh up <env> | down"; up "$2" ;;
  down) [ $# -eq 1 ] || die "usage: launcher.sh up <env> | down"; down ;;
  *) die "usage: launcher.sh up <env> | down" ;;
esac
