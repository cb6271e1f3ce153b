#!/usr/bin/env node
// The `jh-slurm-pod` command: runs the TypeScript dispatcher in this process
// through tsx's loader (found beside this package, whatever the working directory).
import { register } from 'tsx/esm/api'

register()
await import('../scripts/jh-slurm-pod.ts')
