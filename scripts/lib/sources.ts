// The development repositories cloned into the image build contexts. Where
// each comes from and which ref it is pinned to are build arguments of its
// image (<image dir>/build.args), so that one setting moves both the
// release stage-base installs and the clone stage-dev installs. The
// environment can point a clone elsewhere (a fork, a mirror, a local path or
// git bundle) or at another ref.
import path from 'node:path'
import type { BuildArgs } from './build-args.ts'
import { UsageError } from './errors.ts'
import { IMAGES, type ImageKey } from './names.ts'
import type { RepoPaths } from './paths.ts'

export interface DevRepo {
  name: string
  /** The image whose build context it goes into. */
  image: ImageKey
  /** Empty when no repository is configured: only an existing clone will do. */
  url: string
  /** Branch, tag or commit to check out; `HEAD` is the remote's default branch. */
  ref: string
  /** Where the clone goes: <image dir>/_dev_build_data/<name>. */
  dest: string
  /** Process environment variables that override the URL and the ref. */
  overrideVars: { url: string; ref: string }
}

/** The ref that means "whatever the remote's default branch holds". */
export const DEFAULT_BRANCH = 'HEAD'

interface RepoSpec {
  name: string
  image: ImageKey
  /** Build-argument and environment-variable stem, e.g. BRICSAUTHENTICATOR. */
  stem: string
}

const REPOS: RepoSpec[] = [
  { name: 'bricsauthenticator', image: 'jupyterhub', stem: 'BRICSAUTHENTICATOR' },
  { name: 'slurmspawner_wrappers', image: 'slurm', stem: 'SLURMSPAWNER_WRAPPERS' },
]

/**
 * The repositories to clone. `argsOf` gives each image's effective build
 * arguments, as the image build resolves them (see planImageBuild), so the
 * clone follows the same pins; JH_SLURM_<NAME>_URL and JH_SLURM_<NAME>_REF
 * win over them.
 */
export function devRepos(vars: NodeJS.ProcessEnv, repo: RepoPaths, argsOf: (image: ImageKey) => BuildArgs): DevRepo[] {
  return REPOS.map(({ name, image, stem }) => {
    const args = argsOf(image)
    const overrideVars = { url: `JH_SLURM_${stem}_URL`, ref: `JH_SLURM_${stem}_REF` }
    const url = vars[overrideVars.url] || args.get(`${stem}_REPO`) || ''
    const ref = vars[overrideVars.ref] || args.get(`${stem}_REF`) || ''
    if (!ref)
      throw new UsageError(`no ref for ${name}: set ${overrideVars.ref} or ${stem}_REF in ${IMAGES[image]}/build.args`)
    const dest = path.join(repo.root, IMAGES[image], '_dev_build_data', name)
    return { name, image, url, ref, overrideVars, dest }
  })
}
