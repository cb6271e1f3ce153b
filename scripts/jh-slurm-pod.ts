// The command: `jh-slurm-pod <command> ...` (bin/jh-slurm-pod.mjs, npm run <command>).
import { dispatch } from './commands.ts'
import { runMain } from './lib/errors.ts'

runMain(() => dispatch(process.argv.slice(2)))
