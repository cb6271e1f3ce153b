// Who owns the files in each named volume, from the environment with the
// defaults the images expect (root for the hub, Debian's slurm user).
import { UsageError } from './errors.ts'

export interface Owner {
  uname: string
  uid: number
  gname: string
  gid: number
}

export interface VolumeOwners {
  jupyterhub: Owner
  slurm: Owner
  /** The accounting container gives the database directory to MariaDB's own user when it starts. */
  accounting: Owner
  /** The homes' top directory (/home) is root's; the Slurm image makes each home with its user's owner. */
  homes: Owner
}

function id(vars: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = vars[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name} must be a number (a uid or gid), got "${raw}"; fix or unset it`)
  return Number(raw)
}

export function volumeOwners(vars: NodeJS.ProcessEnv = process.env): VolumeOwners {
  const slurm: Owner = {
    uname: vars.SLURMUSER || 'slurm',
    uid: id(vars, 'SLURMUSER_UID', 64030),
    gname: vars.SLURMGROUP || 'slurm',
    gid: id(vars, 'SLURMGROUP_GID', 64030),
  }
  const root: Owner = { uname: 'root', uid: 0, gname: 'root', gid: 0 }
  return {
    homes: root,
    jupyterhub: {
      uname: vars.JUPYTERUSER || 'root',
      uid: id(vars, 'JUPYTERUSER_UID', 0),
      gname: vars.JUPYTERGROUP || 'root',
      gid: id(vars, 'JUPYTERGROUP_GID', 0),
    },
    slurm,
    accounting: slurm,
  }
}
