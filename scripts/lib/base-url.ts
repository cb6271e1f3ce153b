// The hub's URL prefix (upstream's deploy setting baseUrl): the hub binds
// under it, and every URL the launcher checks or prints follows it. The pod
// carries it as a label so that `status` finds it again; label values allow
// no '/', so /a/b/ is kept as a.b (hence no '.' inside a segment).
import { BASE_URL_LABEL, DEFAULT_BASE_URL } from './names.ts'

const SEGMENT = '[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?'
const BASE_URL = new RegExp(`^/(?:${SEGMENT}/)*$`)

/** The setting as the hub gets it (a trailing '/' added), or an error message. */
export function checkBaseUrl(value: string): { value: string } | { error: string } {
  const normal = value.endsWith('/') ? value : `${value}/`
  if (BASE_URL.test(normal) && normal.length <= 65) return { value: normal }
  return {
    error: `baseUrl must be a path such as /jupyter/: '/'-separated segments of letters, digits, '-' and '_', at most 63 characters in all, not '${value}'`,
  }
}

/**
 * The deploy setting baseUrl, or the default. It takes any map of settings
 * (a DeployConfig, or the record `apply` keeps), so that this module, which
 * deploy-config.ts imports for its check, imports nothing back.
 */
export const baseUrlOf = (settings: ReadonlyMap<string, string> | undefined): string =>
  settings?.get('baseUrl') ?? DEFAULT_BASE_URL

export const baseUrlLabel = (baseUrl: string): Record<string, string> => ({
  [BASE_URL_LABEL]: baseUrl.replace(/^\/|\/$/g, '').replaceAll('/', '.'),
})

/** The prefix a pod's labels name; pods made before the label have the default. */
export function baseUrlFromLabels(labels: Record<string, string> | undefined): string {
  const value = labels?.[BASE_URL_LABEL]
  if (value === undefined) return DEFAULT_BASE_URL
  return value ? `/${value.replaceAll('.', '/')}/` : '/'
}
