// The development repositories cloned into the image build contexts. The
// URLs can be changed (a fork, a mirror, a local path) through the environment.
import path from 'node:path'
import { repoRoot } from './paths.ts'

export interface DevRepo {
  name: string
  url: string
  /** Where the clone goes: <image dir>/_dev_build_data/<name>. */
  dest: string
  /** Environment variable that overrides the URL. */
  env: string
}

export function devRepos(env: NodeJS.ProcessEnv = process.env, root: string = repoRoot): DevRepo[] {
  return [
    {
      name: 'bricsauthenticator',
      env: 'JH_SLURM_BRICSAUTHENTICATOR_URL',
      url: env.JH_SLURM_BRICSAUTHENTICATOR_URL || 'https://github.com/isambard-sc/bricsauthenticator.git',
      dest: path.join(root, 'brics_jupyterhub', '_dev_build_data', 'bricsauthenticator'),
    },
    {
      name: 'slurmspawner_wrappers',
      env: 'JH_SLURM_SLURMSPAWNER_WRAPPERS_URL',
      url: env.JH_SLURM_SLURMSPAWNER_WRAPPERS_URL || 'https://github.com/isambard-sc/slurmspawner_wrappers.git',
      dest: path.join(root, 'brics_slurm', '_dev_build_data', 'slurmspawner_wrappers'),
    },
  ]
}
