// Who owns the files in each named volume, from the environment with the
// defaults the images expect (root for the hub, Debian's slurm user).
import { UserError } from './errors.ts'

export interface Owner {
  uname: string
  uid: number
  gname: string
  gid: number
}

export interface VolumeOwners {
  jupyterhub: Owner
  slurm: Owner
}

function id(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new UserError(`${name} must be a number, got "${raw}"`)
  return Number(raw)
}

export function volumeOwners(env: NodeJS.ProcessEnv = process.env): VolumeOwners {
  return {
    jupyterhub: {
      uname: env.JUPYTERUSER || 'root',
      uid: id(env, 'JUPYTERUSER_UID', 0),
      gname: env.JUPYTERGROUP || 'root',
      gid: id(env, 'JUPYTERGROUP_GID', 0),
    },
    slurm: {
      uname: env.SLURMUSER || 'slurm',
      uid: id(env, 'SLURMUSER_UID', 64030),
      gname: env.SLURMGROUP || 'slurm',
      gid: id(env, 'SLURMGROUP_GID', 64030),
    },
  }
}
