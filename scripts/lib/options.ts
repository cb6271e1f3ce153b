// Every command and option, declared once: the parser, --help, the shell
// completion and the tests all read these.
import type { CommandSpec, OptionSpec } from './cli.ts'
import { DEV_TARGET, TARGETS } from './names.ts'
import { DEFAULT_BRANCH } from './sources.ts'

const option = <S extends OptionSpec>(spec: S): S => spec

export const buildOptions = {
  target: option({
    type: 'string',
    value: 'STAGE',
    defaultNote: DEV_TARGET,
    description: `build stage: ${TARGETS.join(', ')}`,
  }),
  tag: option({
    type: 'string',
    value: 'TAG',
    variable: 'JH_SLURM_IMAGE_TAG',
    defaultNote: "the stage's, dev-latest or prod-latest",
    description: 'image tag',
  }),
  registry: option({
    type: 'string',
    value: 'PREFIX',
    default: 'localhost',
    description: 'image name prefix, e.g. registry.example.org/brics',
  }),
  'hub-args-file': option({
    type: 'string',
    value: 'FILE',
    variable: 'JH_SLURM_HUB_ARGS_FILE',
    description: 'KEY=VALUE file laid over brics_jupyterhub/build.args',
  }),
  'slurm-args-file': option({
    type: 'string',
    value: 'FILE',
    variable: 'JH_SLURM_SLURM_ARGS_FILE',
    description: 'KEY=VALUE file laid over brics_slurm/build.args',
  }),
  'nadir-args-file': option({
    type: 'string',
    value: 'FILE',
    variable: 'JH_SLURM_NADIR_ARGS_FILE',
    description: 'KEY=VALUE file laid over nadir-client/build.args',
  }),
  'hub-build-arg': option({
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'one hub build argument',
  }),
  'slurm-build-arg': option({
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'one Slurm build argument',
  }),
  'nadir-build-arg': option({
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'one Nadir client build argument',
  }),
  'ca-bundle': option({
    type: 'string',
    value: 'PATH',
    variable: 'JH_SLURM_BUILD_CA_BUNDLE',
    description: 'extra CA certificates (PEM) trusted by pip/npm/curl/git during builds, for TLS-intercepting proxies',
  }),
  'stage-jobs': option({
    type: 'string',
    value: 'N',
    variable: 'JH_SLURM_STAGE_JOBS',
    default: '2',
    description: 'stages of one image that podman builds at once (podman build --jobs; 1 = one after another)',
  }),
}

export const portOption = option({
  type: 'string',
  value: 'PORT',
  variable: 'JH_SLURM_HOST_PORT',
  defaultNote: 'hostPort in config/<env>/launcher.yaml',
  description: 'publish the hub on 127.0.0.1:PORT',
})

export const deployConfigOption = option({
  type: 'string',
  value: 'FILE',
  variable: 'JH_SLURM_DEPLOY_CONFIG',
  description: 'YAML file of deploy settings laid over config/<env>/deploy-config.yaml',
})

export const sshClientKeyOption = option({
  type: 'string',
  value: 'FILE',
  variable: 'JH_SLURM_SSH_CLIENT_KEY',
  description: "the hub's SSH private key for an external Slurm's login node (environments without Slurm in the pod)",
})

export const sshKnownHostsOption = option({
  type: 'string',
  value: 'FILE',
  variable: 'JH_SLURM_SSH_KNOWN_HOSTS',
  description: "known_hosts line(s) with that login node's host key (environments without Slurm in the pod)",
})

export const nadirSshKeyOption = option({
  type: 'string',
  value: 'FILE',
  variable: 'JH_SLURM_NADIR_SSH_KEY',
  description:
    "the Nadir tunnel client's SSH private key, its public half in FILE.pub (environments whose pod runs nadir-client)",
})

export const nadirServerAddressOption = option({
  type: 'string',
  value: 'FILE',
  variable: 'JH_SLURM_NADIR_SERVER_ADDRESS',
  description: "a file holding the Nadir server's host name (environments whose pod runs nadir-client)",
})

export const networkOption = option({
  type: 'string',
  value: 'NAME',
  variable: 'JH_SLURM_NETWORK',
  description: 'attach the pod to this podman network (e.g. one from which the Slurm login node is reachable)',
})

const OWNER_NOTES =
  'Volume owners (variable, default): JUPYTERUSER root, JUPYTERUSER_UID 0, JUPYTERGROUP root, JUPYTERGROUP_GID 0,\n' +
  'SLURMUSER slurm, SLURMUSER_UID 64030, SLURMGROUP slurm, SLURMGROUP_GID 64030.'

const CLONE_NOTES =
  'Pins: BRICSAUTHENTICATOR_REPO/_REF in brics_jupyterhub/build.args, SLURMSPAWNER_WRAPPERS_REPO/_REF in brics_slurm/build.args.\n' +
  'Variables:\n' +
  '  JH_SLURM_BRICSAUTHENTICATOR_URL, JH_SLURM_SLURMSPAWNER_WRAPPERS_URL  repository URL, path or git bundle\n' +
  `  JH_SLURM_BRICSAUTHENTICATOR_REF, JH_SLURM_SLURMSPAWNER_WRAPPERS_REF  branch, tag or commit; ${DEFAULT_BRANCH} = default branch`

const ENVIRONMENTS_NOTE =
  'Environments: config/<env>/ and volumes/<env>/ of the checkout, or of the folder JH_SLURM_ENVIRONMENTS_DIR names.'

const up = {
  command: 'up',
  summary:
    'Bring up an environment: check, clone the development repositories, build the images its pod runs, create the volumes its pod claims, render the manifest and play it.',
  positionals: ['<env>'],
  options: {
    ...buildOptions,
    target: {
      ...buildOptions.target,
      defaultNote: "the environment's own stage (target in config/<env>/launcher.yaml)",
    },
    'deploy-config': deployConfigOption,
    port: portOption,
    'ssh-client-key': sshClientKeyOption,
    'ssh-known-hosts': sshKnownHostsOption,
    'nadir-ssh-key': nadirSshKeyOption,
    'nadir-server-address': nadirServerAddressOption,
    network: networkOption,
    'keep-build-data': option({
      type: 'boolean',
      variable: 'JH_SLURM_KEEP_BUILD_DATA',
      description: 'keep the build directory (SSH keys, manifest) after a successful start',
    }),
    wait: option({
      type: 'string',
      value: 'SECONDS',
      default: '300',
      description: 'wait this long for the hub to answer, 0 not to wait',
    }),
  },
  notes: `${CLONE_NOTES}\n  JH_SLURM_PODMAN  the podman command; JH_SLURM_TRACE=1  print each command run\n${OWNER_NOTES}\n${ENVIRONMENTS_NOTE}`,
} satisfies CommandSpec

const down = {
  command: 'down',
  summary:
    'Stop and remove an environment: its pod, volumes and secrets. With no <env>, the one that is up; when several are up, asks which (or fails without a terminal). Also removes build directories of runs that died. Safe to run again; exits 0 when nothing is left.',
  positionals: ['[<env>]'],
  options: {
    all: option({
      type: 'boolean',
      description: 'remove every environment that is up, including one made by an earlier version under fixed names',
    }),
  },
  notes: ENVIRONMENTS_NOTE,
} satisfies CommandSpec

const clone = {
  command: 'clone',
  summary:
    'Clone bricsauthenticator and slurmspawner_wrappers into the image build contexts (brics_*/_dev_build_data/) at their pinned refs. Existing clones are kept as they are.',
  options: {},
  notes: CLONE_NOTES,
} satisfies CommandSpec

const keygen = {
  command: 'keygen',
  summary:
    'Generate two SSH key pairs (ed25519, no passphrase): ssh_client_key, the key the hub logs in to Slurm with, and ssh_host_key, the Slurm sshd host key. Directory mode 0700, private keys 0600. Takes no environment: the keys are the same kind for each.',
  options: {
    out: option({
      type: 'string',
      value: 'DIR',
      defaultNote: 'a new temporary directory',
      description: 'directory for the keys',
    }),
    force: option({ type: 'boolean', description: 'replace key files that are already in DIR' }),
  },
} satisfies CommandSpec

const buildImages = {
  command: 'build-images',
  summary: 'Build the brics_jupyterhub, brics_slurm and nadir-client images, all at once.',
  options: {
    image: option({
      type: 'string',
      multiple: true,
      value: 'NAME',
      defaultNote: 'all three',
      description: 'only this image: jupyterhub, slurm or nadir-client',
    }),
    ...buildOptions,
  },
  notes:
    'Build arguments and their defaults are listed in brics_jupyterhub/build.args, brics_slurm/build.args and nadir-client/build.args.',
} satisfies CommandSpec

const volumes = {
  command: 'volumes',
  summary:
    "Create the volumes the environment's pod claims (jupyterhub-root-<env>; slurm-root-<env> only where Slurm runs in the pod) and fill them from volumes/<env>/jupyterhub_root and slurm_root, laid over volumes/_shared/ (files every environment gets).",
  positionals: ['<env>'],
  options: {},
  notes: `${OWNER_NOTES}\n${ENVIRONMENTS_NOTE}`,
} satisfies CommandSpec

const manifest = {
  command: 'manifest',
  summary:
    'Print the combined manifest of an environment on stdout: the ConfigMaps and Secrets its pod uses (fresh SSH keys and dev login password where it has them), then the Pod. Needs no podman.',
  positionals: ['<env>'],
  options: {
    output: option({
      type: 'string',
      short: 'o',
      value: 'FILE',
      defaultNote: 'stdout',
      description: 'write to FILE (mode 0600)',
    }),
    'deploy-config': deployConfigOption,
    port: portOption,
    tag: {
      ...buildOptions.tag,
      defaultNote: "the environment's stage's, dev-latest or prod-latest",
      description: 'tag of the images the pod runs',
    },
    registry: { ...buildOptions.registry, description: 'name prefix of the images the pod runs' },
    'ssh-client-key': sshClientKeyOption,
    'ssh-known-hosts': sshKnownHostsOption,
    'nadir-ssh-key': nadirSshKeyOption,
    'nadir-server-address': nadirServerAddressOption,
  },
  notes:
    'The output holds private keys and the dev login password: keep it out of logs and version control.\n' +
    'An environment whose dev_users is not there (dev_realauth) is rendered with dev_users.example.\n' +
    ENVIRONMENTS_NOTE,
} satisfies CommandSpec

const play = {
  command: 'play',
  summary: `Start the pod from a combined manifest (see manifest) with podman kube play.`,
  positionals: ['<manifest>'],
  options: { network: networkOption },
} satisfies CommandSpec

const status = {
  command: 'status',
  summary:
    'List the environments that are up: URL, pod state and the state of each container. Exits 0, also when nothing is up.',
  options: {
    json: option({ type: 'boolean', description: 'print {"environments": [...]} as JSON for scripts' }),
  },
  notes: ENVIRONMENTS_NOTE,
} satisfies CommandSpec

const logs = {
  command: 'logs',
  summary:
    "Print an environment's logs: hub (the hub's output, the default), slurm (slurmctld, slurmd and sshd of the login node), node <i> (Slurm compute node i's slurmd), job [JOBID] (a job's output file, the newest job's by default; for Slurm on a cluster, where the file is and how to read it), login (dev_realauth's development issuer and login front: logins, refusals, sessions), or tunnel (dev_realauth_nadir's Nadir tunnel, both ends: the client's connections and the stand-in server's sshd).",
  positionals: ['<env>', '[hub|slurm|node|job|login]', '[JOBID|NODE]'],
  options: {
    follow: option({ type: 'boolean', short: 'f', description: 'keep printing what is added until Ctrl-C' }),
  },
  notes: ENVIRONMENTS_NOTE,
} satisfies CommandSpec

const apply = {
  command: 'apply',
  summary:
    'Apply what changed since the environment was brought up or last applied, keeping its hub database, logins, homes, port, password and (when only the hub restarts) running servers: a development clone restarts the hub (the wrappers need nothing); hub configuration is copied, then the hub restarts; dev users and deploy settings replace the hub container with the new values and create new users; a Containerfile, build argument or base image rebuilds that image and replaces only its container. Nothing changed: does nothing. See docs/apply.md.',
  positionals: ['<env>'],
  options: {
    watch: option({
      type: 'boolean',
      short: 'w',
      description: 'apply again whenever files are saved, until Ctrl-C (the environment stays up)',
    }),
    'deploy-config': { ...deployConfigOption, defaultNote: 'the file up was given' },
    wait: option({
      type: 'string',
      value: 'SECONDS',
      default: '60',
      description: 'wait this long for a restarted hub to answer',
    }),
  },
  notes: ENVIRONMENTS_NOTE,
} satisfies CommandSpec

const completion = {
  command: 'completion',
  summary:
    'Print a shell completion script (commands, options, environment names). Load it with: source <(jh-slurm-pod completion bash)',
  positionals: ['<shell>'],
  options: {},
  notes: 'Shells: bash, zsh.',
} satisfies CommandSpec

export const COMMANDS = {
  up,
  down,
  clone,
  keygen,
  'build-images': buildImages,
  volumes,
  manifest,
  play,
  status,
  logs,
  apply,
  completion,
}

export type CommandName = keyof typeof COMMANDS
