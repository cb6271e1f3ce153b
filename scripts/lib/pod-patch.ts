// An environment's pod is the base pod (jh_slurm_pod.yaml) with what its
// config/<env>/pod.yaml changes, laid over it the way Kubernetes' strategic
// merge patches are: mappings merge key by key, a key set to null goes, and
// the lists below merge item by item, matched by a key of the item (a
// container by its name, a mount by its path, ...); an item with
// `$patch: delete` goes, an item the base lacks is added at the end. Any
// other list is replaced whole. So a pod file says only how its pod differs.
import { UserError } from './errors.ts'

type Item = Record<string, unknown>

/** The lists merged item by item, and the field (a dotted path) that identifies an item in each. */
const LIST_KEYS: Record<string, string> = {
  containers: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  sysctls: 'name',
  envFrom: 'configMapRef.name',
}

const valueAt = (item: Item, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((value, part) => (isMapping(value) ? value[part] : undefined), item)

const DIRECTIVE = '$patch'

const isMapping = (value: unknown): value is Item =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function withoutDirective(item: Item): Item {
  const { [DIRECTIVE]: _, ...rest } = item
  return rest
}

function mergeList(field: string, base: unknown[], patch: unknown[], where: string): unknown[] {
  const keyField = LIST_KEYS[field] as string
  const keyOf = (item: unknown) => (isMapping(item) ? valueAt(item, keyField) : undefined)
  const merged = [...base]
  for (const item of patch) {
    const key = keyOf(item)
    if (key === undefined) throw new UserError(`${where}: an item of ${field} has no ${keyField} to match it by`)
    const at = merged.findIndex((old) => keyOf(old) === key)
    if ((item as Item)[DIRECTIVE] === 'delete') {
      if (at < 0) throw new UserError(`${where}: ${field} has no ${JSON.stringify(key)} to delete`)
      merged.splice(at, 1)
    } else if (at >= 0) merged[at] = mergeMapping(merged[at] as Item, item as Item, `${where}: ${field} ${key}`)
    else merged.push(withoutDirective(item as Item))
  }
  return merged
}

function mergeMapping(base: Item, patch: Item, where: string): Item {
  const merged: Item = { ...base }
  for (const [field, value] of Object.entries(withoutDirective(patch))) {
    const old = merged[field]
    if (value === null) delete merged[field]
    else if (field in LIST_KEYS && Array.isArray(old) && Array.isArray(value))
      merged[field] = mergeList(field, old, value, where)
    else if (isMapping(old) && isMapping(value)) merged[field] = mergeMapping(old, value, where)
    else merged[field] = structuredClone(value)
  }
  return merged
}

/** The base pod with the patch laid over it; neither is changed. */
export function patchPod(base: Item, patch: Item, patchFile: string): Item {
  if (patch.kind !== undefined && patch.kind !== 'Pod')
    throw new UserError(`${patchFile}: a pod patch has kind Pod or none`)
  return mergeMapping(structuredClone(base), patch, patchFile)
}
