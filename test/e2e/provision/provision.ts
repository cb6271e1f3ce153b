/**
 * Provision a podman that can run the end-to-end test on a machine where
 * the distribution's podman is too old and no container registry is
 * reachable.
 *
 *   npx tsx test/e2e/provision/provision.ts setup|purge|teardown|env|remote-start|remote-stop [--repo DIR] [--verbose] [--plain] [--remote]
 *
 * setup     Debian trixie root file system with podman (runc), mounts, a
 *           persistent mount namespace pivot_root'ed into it, config, and
 *           the stand-in ("test double") base images. Idempotent.
 * purge     (after setup) Removes what earlier runs left in the store: pods,
 *           containers, volumes, secrets, networks (images stay), and the
 *           firewall rules and bridges their killed containers left on the
 *           host. For CI, whose runs start from nothing of an earlier one.
 * teardown  Stops running containers, releases the namespace and unmounts
 *           everything under the root file system. Removes no containers,
 *           images or volumes. Idempotent.
 * env       Prints JH_SLURM_PODMAN=... for `eval "$(... env)"`; `--plain` prints it
 *           unquoted (dotenv / $GITHUB_ENV style); `--remote`: the remote client
 *           of the service that remote-start starts.
 * remote-start  Starts `podman system service` on a socket in the namespace,
 *           for podman's remote client (what a podman machine is to macOS).
 *           Idempotent: a service that answers is left as it is.
 * remote-stop   Stops that service (teardown does too). Idempotent.
 *
 * See README.md next to this file for the reasons behind each step.
 */
import { $, fs, path, ProcessOutput } from 'zx'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { EMPTY_STORE } from '../lib/scratch-podman.ts'

// ---------------------------------------------------------------- constants

const STATE_DIR = '/var/lib/jh-slurm-e2e'
const CHROOT = `${STATE_DIR}/trixie`
/** Persistent mount namespace whose root is CHROOT (pivot_root, not chroot). */
const NS_DIR = `${STATE_DIR}/ns`
const NS_FILE = `${NS_DIR}/mnt`
const LOG_DIR = `${STATE_DIR}/logs`
const DEBIAN_TARBALL = `${STATE_DIR}/debian-bookworm-rootfs.tar`
const DEBIAN_MIRROR = 'http://deb.debian.org/debian'

const CHROOT_PACKAGES = [
  'podman',
  'runc',
  'netavark',
  'aardvark-dns',
  'conmon',
  'catatonit',
  'fuse-overlayfs',
  'iptables',
  'nftables',
  'ca-certificates',
]

/** The host's CA bundle; copied to the same path inside the chroot. */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'
/** Where image builds see the bundle (mounted with --volume, never baked in). */
const BUILD_CA_BUNDLE = '/run/build-ca.crt'

const CONTAINERS_CONF = `# Written by test/e2e/provision/provision.ts
[containers]
# The session's hard limit is nofile=20000 and we lack CAP_SYS_RESOURCE,
# so podman's default (1048576) cannot be applied.
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
# crun refuses the host's hybrid cgroup v1 layout; runc works.
runtime = "runc"
`

/**
 * Not `chroot`: inside a chroot, runc's pivot_root leaves the mount namespace's
 * root at the host's "/", so `podman exec` (setns) lands in the host's file
 * system. Entering a namespace that was pivot_root'ed into CHROOT avoids that.
 */
const PODMAN_ARGV = ['nsenter', `--mount=${NS_FILE}`, 'env', 'PODMAN_IGNORE_CGROUPSV1_WARNING=1', 'podman']
/** Value of JH_SLURM_PODMAN used by the product (split on whitespace). */
const PODMAN_VALUE = PODMAN_ARGV.join(' ')

/** The socket of `podman system service`, inside the namespace (its /run is a tmpfs of ours). */
const REMOTE_SOCKET = '/run/jh-remote/podman.sock'
/** podman's remote client talking to that service: JH_SLURM_PODMAN for the remote-podman test. */
const REMOTE_ARGV = [...PODMAN_ARGV, '--remote', '--url', `unix://${REMOTE_SOCKET}`]
const REMOTE_PID_FILE = `${STATE_DIR}/podman-service.pid`

const DEBIAN_IMAGE = 'localhost/test-double/debian:bookworm'
const IMAGE_PATH_ENV = 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Stand-in base images, built from test/fixtures/base-images/<dir>, in order. */
const BASE_IMAGES = [
  { dir: 'jupyterhub', ref: 'localhost/test-double/jupyterhub:5.4.2' },
  { dir: 'slurm', ref: 'localhost/test-double/slurm:full-root' },
  { dir: 'alpine', ref: 'localhost/test-double/alpine:3.21' },
]
const CONTEXT_HASH_LABEL = 'org.jh-slurm-e2e.context-hash'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const DEFAULT_REPO = path.resolve(HERE, '../../..')

// ---------------------------------------------------------------- plumbing

/** An expected failure: reported as one line, no stack trace. */
class ProvisionError extends Error {}

const COMMANDS = ['setup', 'purge', 'teardown', 'env', 'remote-start', 'remote-stop'] as const

interface Options {
  command: (typeof COMMANDS)[number]
  repo: string
  verbose: boolean
  plain: boolean
  remote: boolean
}

$.verbose = false
$.quiet = true

function log(message: string): void {
  console.log(`[provision] ${message}`)
}

function lastLine(text: string | undefined): string {
  return (
    (text ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? 'no output'
  )
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`
}

/**
 * Run a long command, keeping its output in a log file. Prints a start line,
 * a heartbeat every 30 s and the duration; on failure throws one line that
 * names the log file.
 */
async function step(label: string, logName: string, run: () => Promise<unknown>): Promise<void> {
  const started = Date.now()
  const logFile = path.join(LOG_DIR, `${logName}.log`)
  log(`${label} ... (log: ${logFile})`)
  const heartbeat = setInterval(() => log(`  ${label}: still running (${seconds(started)})`), 30_000)
  try {
    await run()
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; exitCode?: number | null }
    if (output.stdout === undefined) throw error
    await fs.outputFile(logFile, `${output.stdout}\n--- stderr ---\n${output.stderr ?? ''}`)
    throw new ProvisionError(
      `${label} failed (exit ${output.exitCode}): ${lastLine(output.stderr || output.stdout)} — see ${logFile}`,
    )
  } finally {
    clearInterval(heartbeat)
  }
  log(`${label}: done in ${seconds(started)}`)
}

/** Run a command, writing its output to the step's log file on success too. */
function logged(logName: string, verbose: boolean) {
  return async (pieces: TemplateStringsArray, ...args: unknown[]): Promise<void> => {
    const output = await $({ verbose, quiet: !verbose })(pieces, ...(args as never[]))
    await fs.outputFile(path.join(LOG_DIR, `${logName}.log`), `${output.stdout}\n--- stderr ---\n${output.stderr}`)
  }
}

/** Run the trixie podman (inside the namespace) with the given arguments (each one shell-quoted by zx). */
function podman(...args: string[]) {
  return $`${PODMAN_ARGV} ${args}`
}

// ---------------------------------------------------------------- mounts

/** Mount points currently visible, from /proc/self/mountinfo (octal escapes decoded). */
async function mountPoints(): Promise<string[]> {
  const text: string = await fs.readFile('/proc/self/mountinfo', 'utf8')
  return text
    .split('\n')
    .filter(Boolean)
    .map((line: string) =>
      (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_: string, oct: string) =>
        String.fromCharCode(parseInt(oct, 8)),
      ),
    )
}

async function isMounted(target: string): Promise<boolean> {
  return (await mountPoints()).includes(target)
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountPoints()).filter((m) => m === dir || m.startsWith(`${dir}/`))
}

/** Path of a host path as seen by the host *inside* the chroot tree. */
function inChroot(hostPath: string): string {
  return path.join(CHROOT, hostPath)
}

async function ensureMount(target: string, description: string, mount: () => Promise<unknown>): Promise<void> {
  if (await isMounted(target)) {
    log(`mount ${target}: already mounted`)
    return
  }
  await fs.mkdirp(target)
  await mount()
  log(`mount ${target}: ${description}`)
}

async function ensureMounts(repo: string): Promise<void> {
  if (!(await isMounted(CHROOT))) {
    // Left-overs below an unmounted chroot would be hidden by the self-bind.
    await unmountAll(CHROOT)
  }
  // Image layer unpacking remounts "/" inside the chroot; that needs "/" to be a mount point.
  await ensureMount(CHROOT, 'self bind (private)', async () => {
    await $`mount --bind ${CHROOT} ${CHROOT}`
    await $`mount --make-private ${CHROOT}`
  })
  await ensureMount(inChroot('/proc'), 'proc', () => $`mount -t proc proc ${inChroot('/proc')}`)
  for (const dir of ['/sys', '/dev']) {
    await ensureMount(inChroot(dir), `rbind ${dir} (rslave)`, async () => {
      await $`mount --rbind ${dir} ${inChroot(dir)}`
      await $`mount --make-rslave ${inChroot(dir)}`
    })
  }
  await ensureMount(
    inChroot('/run'),
    'tmpfs',
    () => $`mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs ${inChroot('/run')}`,
  )
  // Build contexts and manifests are passed to podman by absolute path.
  await ensureMount(inChroot(repo), `rbind ${repo} (rslave)`, async () => {
    await $`mount --rbind ${repo} ${inChroot(repo)}`
    await $`mount --make-rslave ${inChroot(repo)}`
  })
}

/** Unmount everything at or below dir, lazily if a mount is busy. */
async function unmountAll(dir: string): Promise<void> {
  if ((await mountsUnder(dir)).length === 0) return
  const recursive = await $`umount -R ${dir}`.nothrow()
  if (recursive.exitCode !== 0) {
    log(`umount -R ${dir} failed (${recursive.stderr.trim()}); unmounting lazily`)
    // Deepest first, so that every lazy unmount still finds its target.
    const targets = (await mountsUnder(dir)).sort((a, b) => b.length - a.length)
    for (const target of targets) await $`umount -l ${target}`.nothrow()
  }
  const left = await mountsUnder(dir)
  if (left.length > 0) throw new ProvisionError(`could not unmount: ${left.join(', ')}`)
}

// ---------------------------------------------------------------- namespace

async function namespaceExists(): Promise<boolean> {
  return isMounted(NS_FILE)
}

/** True if the namespace is alive and sees the repository. */
async function namespaceSees(repo: string): Promise<boolean> {
  const probe =
    await $`nsenter --mount=${NS_FILE} test -f ${path.join(repo, 'package.json')} -a -x /usr/bin/podman`.nothrow()
  return probe.exitCode === 0
}

/**
 * A mount namespace, kept alive by a bind mount of its nsfs file, whose root
 * mount is CHROOT (with all the mounts made by ensureMounts, copied).
 */
async function ensureNamespace(repo: string): Promise<void> {
  if (await namespaceExists()) {
    if (await namespaceSees(repo)) {
      log(`namespace ${NS_FILE}: present`)
      return
    }
    // Made for another checkout (e.g. an earlier CI run): whatever still runs
    // in it belongs to that checkout, so stop it and start afresh.
    if ((await namespaceProcesses()).length > 0) {
      log(`namespace ${NS_FILE} was made for another checkout; stopping what runs in it`)
      await stopContainers()
    }
    await releaseNamespace()
  }
  // unshare --mount=FILE needs FILE on a mount with private propagation.
  await ensureMount(NS_DIR, 'self bind (private)', async () => {
    await $`mount --bind ${NS_DIR} ${NS_DIR}`
    await $`mount --make-private ${NS_DIR}`
  })
  await fs.ensureFile(NS_FILE)
  await $`unshare --mount=${NS_FILE} --propagation private sh -ec ${[
    `cd ${CHROOT}`,
    'mkdir -p .oldroot',
    'pivot_root . .oldroot',
    'umount -l /.oldroot',
    'rmdir /.oldroot',
  ].join('; ')}`
  log(`namespace ${NS_FILE}: created (root: ${CHROOT})`)
}

async function releaseNamespace(): Promise<void> {
  if (await isMounted(NS_FILE)) await $`umount ${NS_FILE}`
  if (await isMounted(NS_DIR)) await $`umount ${NS_DIR}`
}

// ---------------------------------------------------------------- chroot

async function ensureChroot(verbose: boolean): Promise<void> {
  if (await fs.pathExists(inChroot('/usr/bin/podman'))) {
    log(`chroot ${CHROOT}: present`)
    return
  }
  const tmp = `${CHROOT}.tmp`
  await removeTree(tmp)
  await step(
    'debootstrap trixie chroot',
    'debootstrap-trixie',
    () =>
      logged(
        'debootstrap-trixie',
        verbose,
      )`debootstrap --variant=minbase --include=${CHROOT_PACKAGES.join(',')} trixie ${tmp} ${DEBIAN_MIRROR}`,
  )
  await removeTree(CHROOT)
  await fs.rename(tmp, CHROOT)
}

/** rm -rf that never crosses into a mounted file system. */
async function removeTree(dir: string): Promise<void> {
  if (!(await fs.pathExists(dir))) return
  await unmountAll(dir)
  await $`rm -rf --one-file-system ${dir}`
}

async function writeFileIfChanged(file: string, content: string | Buffer, description: string): Promise<void> {
  const current = await fs.readFile(file).catch(() => undefined)
  if (current?.equals(Buffer.from(content))) return
  await fs.remove(file) // may be a symlink into the chroot's own tree
  await fs.outputFile(file, content)
  log(`wrote ${file} (${description})`)
}

async function configureChroot(): Promise<void> {
  await writeFileIfChanged(inChroot('/etc/containers/containers.conf'), CONTAINERS_CONF, 'runc, ulimits')
  await writeFileIfChanged(inChroot(CA_BUNDLE), await fs.readFile(CA_BUNDLE), 'host CA bundle')
  await writeFileIfChanged(inChroot('/etc/resolv.conf'), await fs.readFile('/etc/resolv.conf'), 'host resolver')
}

async function checkPodman(): Promise<void> {
  const version = await podman('version', '--format', '{{.Client.Version}}').nothrow()
  if (version.exitCode !== 0) {
    throw new ProvisionError(`podman in the chroot does not work: ${lastLine(version.stderr)}`)
  }
  log(`podman ${version.stdout.trim()} works`)
}

// ---------------------------------------------------------------- images

async function imageExists(ref: string): Promise<boolean> {
  return (await podman('image', 'exists', ref).nothrow()).exitCode === 0
}

async function ensureDebianImage(verbose: boolean): Promise<void> {
  if (await imageExists(DEBIAN_IMAGE)) {
    log(`image ${DEBIAN_IMAGE}: present`)
    return
  }
  if (!(await fs.pathExists(DEBIAN_TARBALL))) await makeDebianTarball(verbose)
  await step(
    `import ${DEBIAN_IMAGE}`,
    'import-debian',
    () => $`${PODMAN_ARGV} import --change ${IMAGE_PATH_ENV} - ${DEBIAN_IMAGE} < ${DEBIAN_TARBALL}`,
  )
}

async function makeDebianTarball(verbose: boolean): Promise<void> {
  const rootfs = `${STATE_DIR}/bookworm-rootfs.tmp`
  await removeTree(rootfs)
  await step(
    'debootstrap bookworm rootfs',
    'debootstrap-bookworm',
    () => logged('debootstrap-bookworm', verbose)`debootstrap --variant=minbase bookworm ${rootfs} ${DEBIAN_MIRROR}`,
  )
  await $`find ${rootfs}/var/cache/apt/archives -name '*.deb' -delete`
  await $`tar --numeric-owner -C ${rootfs} -cf ${DEBIAN_TARBALL}.tmp .`
  await fs.rename(`${DEBIAN_TARBALL}.tmp`, DEBIAN_TARBALL)
  await removeTree(rootfs)
  log(`cached ${DEBIAN_TARBALL}`)
}

/** Hash of every file in a build context, so that edited fixtures get rebuilt. */
async function contextHash(dir: string): Promise<string> {
  const hash = createHash('sha256')
  const walk = async (sub: string): Promise<void> => {
    for (const name of (await fs.readdir(path.join(dir, sub))).sort()) {
      const rel = path.join(sub, name)
      if ((await fs.stat(path.join(dir, rel))).isDirectory()) await walk(rel)
      else hash.update(`${rel}\0`).update(await fs.readFile(path.join(dir, rel)))
    }
  }
  await walk('.')
  return hash.digest('hex').slice(0, 16)
}

async function imageLabel(ref: string, label: string): Promise<string> {
  const out = await podman('image', 'inspect', '--format', `{{index .Labels "${label}"}}`, ref).nothrow()
  return out.exitCode === 0 ? out.stdout.trim() : ''
}

async function ensureBaseImages(repo: string, verbose: boolean): Promise<void> {
  await ensureDebianImage(verbose)
  for (const { dir, ref } of BASE_IMAGES) {
    const context = path.join(repo, 'test/fixtures/base-images', dir)
    if (!(await fs.pathExists(path.join(context, 'Containerfile')))) {
      throw new ProvisionError(`missing ${context}/Containerfile`)
    }
    const hash = await contextHash(context)
    if ((await imageExists(ref)) && (await imageLabel(ref, CONTEXT_HASH_LABEL)) === hash) {
      log(`image ${ref}: present (context ${hash})`)
      continue
    }
    const logName = `build-${dir}`
    const build = [
      'build',
      '--volume',
      `${CA_BUNDLE}:${BUILD_CA_BUNDLE}:ro`,
      '--build-arg',
      `BUILD_CA_BUNDLE=${BUILD_CA_BUNDLE}`,
      '--label',
      `${CONTEXT_HASH_LABEL}=${hash}`,
      '--tag',
      ref,
      '--file',
      path.join(context, 'Containerfile'),
      context,
    ]
    await step(`build ${ref}`, logName, () => logged(logName, verbose)`${PODMAN_ARGV} ${build}`)
  }
}

// ---------------------------------------------------------------- remote service

/** True when the remote client gets an answer from the service (a server version). */
async function serviceAnswers(): Promise<boolean> {
  const probe = await $`${REMOTE_ARGV} version --format ${'{{.Server.Version}}'}`.nothrow()
  return probe.exitCode === 0 && probe.stdout.trim() !== ''
}

/** The pid of the service we started, if it still runs. */
async function servicePid(): Promise<number | undefined> {
  const pid = Number((await fs.readFile(REMOTE_PID_FILE, 'utf8').catch(() => '')).trim())
  if (!pid) return undefined
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.includes('system\0service') ? pid : undefined
}

/** Starts `podman system service` in the namespace, detached, logging to LOG_DIR. */
async function remoteStart(): Promise<void> {
  if (!(await namespaceExists())) throw new ProvisionError('the namespace is not there; run setup first')
  if (await serviceAnswers()) {
    log(`podman service on ${REMOTE_SOCKET}: answering already`)
    return
  }
  await remoteStop()
  await fs.mkdirp(inChroot(path.dirname(REMOTE_SOCKET)))
  await fs.mkdirp(LOG_DIR)
  const logFile = path.join(LOG_DIR, 'podman-service.log')
  const out = await fs.open(logFile, 'w')
  // --time=0: the service never exits on its own; remote-stop or teardown ends it.
  const child = spawn(
    PODMAN_ARGV[0] as string,
    [...PODMAN_ARGV.slice(1), 'system', 'service', '--time=0', `unix://${REMOTE_SOCKET}`],
    {
      detached: true,
      stdio: ['ignore', out, out],
    },
  )
  child.unref()
  await fs.close(out)
  await fs.writeFile(REMOTE_PID_FILE, `${child.pid}\n`)
  for (let i = 0; i < 60; i++) {
    if (await serviceAnswers()) {
      log(`podman service on ${REMOTE_SOCKET}: started (pid ${child.pid}, log: ${logFile})`)
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  await remoteStop()
  throw new ProvisionError(`podman system service did not answer on ${REMOTE_SOCKET} within 15 s — see ${logFile}`)
}

async function remoteStop(): Promise<void> {
  const pid = await servicePid()
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM')
    for (let i = 0; i < 40 && (await servicePid()) !== undefined; i++)
      await new Promise((resolve) => setTimeout(resolve, 250))
    if ((await servicePid()) !== undefined) process.kill(pid, 'SIGKILL')
    log(`podman service (pid ${pid}): stopped`)
  }
  await fs.remove(REMOTE_PID_FILE)
  await fs.remove(inChroot(REMOTE_SOCKET))
}

// ---------------------------------------------------------------- teardown

/**
 * Processes in the namespace (conmon, aardvark-dns, ...) or chroot'ed into
 * the tree. Container processes have namespaces of their own; podman stops those.
 */
async function namespaceProcesses(): Promise<number[]> {
  const nsInode = (await namespaceExists()) ? (await fs.stat(NS_FILE)).ino : -1
  const pids: number[] = []
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const mntInode = await fs.stat(`/proc/${entry}/ns/mnt`).then(
      (st: { ino: number }) => st.ino,
      () => -2,
    )
    const root = await fs.readlink(`/proc/${entry}/root`).catch(() => '')
    if (mntInode === nsInode || root === CHROOT || root.startsWith(`${CHROOT}/`)) pids.push(Number(entry))
  }
  return pids
}

async function stopContainers(): Promise<void> {
  // Stopping (not removing) is what a reboot would do; the product's `down` removes.
  const pods = await podman('pod', 'stop', '--all', '--time', '10').nothrow()
  const containers = await podman('stop', '--all', '--time', '10').nothrow()
  if (pods.exitCode !== 0 || containers.exitCode !== 0) {
    log(`warning: podman stop reported: ${lastLine(`${pods.stderr}\n${containers.stderr}`)}`)
  }
  const leftovers = await namespaceProcesses()
  if (leftovers.length === 0) return
  log(`terminating processes left in the namespace: ${leftovers.join(' ')}`)
  for (const pid of leftovers) await $`kill -TERM ${pid}`.nothrow()
  await new Promise((resolve) => setTimeout(resolve, 2000))
  for (const pid of await namespaceProcesses()) await $`kill -KILL ${pid}`.nothrow()
}

async function teardown(): Promise<void> {
  await remoteStop()
  if (await namespaceExists()) {
    await stopContainers()
    await releaseNamespace()
    log(`released namespace ${NS_FILE}`)
  }
  await releaseNamespace() // the NS_DIR bind, if a previous run stopped half-way
  if ((await mountsUnder(CHROOT)).length === 0) {
    log(`nothing mounted under ${CHROOT}`)
    return
  }
  await unmountAll(CHROOT)
  log(`unmounted everything under ${CHROOT}`)
}

// ---------------------------------------------------------------- purge

/**
 * Removes everything earlier runs left in the store, then what their killed
 * containers left in the host's network namespace: a container stopped by
 * SIGKILL (a run cut short, the namespace released under it) never runs
 * netavark's teardown, so its port forwarding stays in the firewall and sends
 * a published port to an address no one has (EHOSTUNREACH), and its bridge
 * keeps its subnet. Those are removed only when the host has no podman of its
 * own, whose containers they could be; netavark makes them anew as needed.
 */
async function purge(): Promise<void> {
  if (!(await namespaceExists())) throw new ProvisionError('no namespace: run `provision.ts setup` first')
  await remoteStop()
  for (const args of EMPTY_STORE) {
    const run = await podman(...args).nothrow()
    if (run.exitCode !== 0) log(`warning: podman ${args.slice(0, 2).join(' ')}: ${lastLine(run.stderr)}`)
  }
  log('store emptied: no pods, containers, volumes, secrets or networks of earlier runs')
  if ((await $`command -v podman`.nothrow()).exitCode === 0) {
    log("the host has a podman of its own: the host's firewall rules and bridges are left as they are")
    return
  }
  const table = await $`nsenter --mount=${NS_FILE} nft delete table inet netavark`.nothrow()
  if (table.exitCode === 0) log("removed netavark's firewall table (rules of containers no longer there)")
  const bridges = (await fs.readdir('/sys/class/net')).filter((name: string) => /^podman\d+$/.test(name))
  for (const bridge of bridges) {
    const gone = await $`ip link delete ${bridge}`.nothrow()
    log(
      gone.exitCode === 0
        ? `removed bridge ${bridge}`
        : `warning: could not remove bridge ${bridge}: ${lastLine(gone.stderr)}`,
    )
  }
}

// ---------------------------------------------------------------- main

function parseArgs(argv: string[]): Options {
  const [command, ...rest] = argv
  if (!COMMANDS.includes(command as Options['command'])) {
    throw new ProvisionError(`usage: provision.ts ${COMMANDS.join('|')} [--repo DIR] [--verbose] [--plain] [--remote]`)
  }
  const options: Options = {
    command: command as Options['command'],
    repo: DEFAULT_REPO,
    verbose: false,
    plain: false,
    remote: false,
  }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? ''
    const next = rest[i + 1]
    if (arg === '--repo' && next) {
      options.repo = path.resolve(next)
      i++
    } else if (arg.startsWith('--repo=')) options.repo = path.resolve(arg.slice('--repo='.length))
    else if (arg === '--verbose') options.verbose = true
    else if (arg === '--plain') options.plain = true
    else if (arg === '--remote') options.remote = true
    else throw new ProvisionError(`unknown argument: ${arg}`)
  }
  return options
}

async function requireRoot(): Promise<void> {
  if (process.getuid?.() !== 0) throw new ProvisionError('must run as root (mounts, chroot, rootful podman)')
}

async function setup(options: Options): Promise<void> {
  const started = Date.now()
  await requireRoot()
  if (!(await fs.pathExists(options.repo))) throw new ProvisionError(`repository ${options.repo} does not exist`)
  const repo = await fs.realpath(options.repo)
  if (!(await fs.pathExists(path.join(repo, 'package.json')))) {
    throw new ProvisionError(`${repo} does not look like the repository (no package.json)`)
  }
  await fs.mkdirp(LOG_DIR)
  await ensureChroot(options.verbose)
  await ensureMounts(repo)
  await configureChroot()
  await ensureNamespace(repo)
  await checkPodman()
  await ensureBaseImages(repo, options.verbose)
  log(`setup complete in ${seconds(started)}`)
  console.log(`JH_SLURM_PODMAN=${PODMAN_VALUE}`)
}

function printEnv(options: Options): void {
  const value = options.remote ? REMOTE_ARGV.join(' ') : PODMAN_VALUE
  console.log(options.plain ? `JH_SLURM_PODMAN=${value}` : `JH_SLURM_PODMAN='${value}'`)
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2))
  if (options.command === 'env') return printEnv(options)
  if (options.command === 'teardown') {
    await requireRoot()
    return teardown()
  }
  if (options.command === 'purge') {
    await requireRoot()
    return purge()
  }
  if (options.command === 'remote-start' || options.command === 'remote-stop') {
    await requireRoot()
    return options.command === 'remote-start' ? remoteStart() : remoteStop()
  }
  return setup(options)
}

try {
  await main()
} catch (error) {
  const message =
    error instanceof ProvisionError
      ? error.message
      : error instanceof ProcessOutput
        ? `command failed (exit ${error.exitCode}): ${lastLine(error.stderr || error.stdout)}`
        : `unexpected error: ${(error as Error)?.message ?? error}`
  console.error(`[provision] error: ${message.split('\n')[0]}`)
  process.exit(1)
}
