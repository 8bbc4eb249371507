/**
 * What an API key may do. A route declares the one scope it needs in its config
 * (`config: { scope: 'jobs:read' }`, see plugins/auth.ts); a key holding that scope or
 * `admin` may call it.
 *
 * - `jobs:write`   submit (POST /jobs), cancel and delete jobs
 * - `jobs:read`    list and read jobs, their losses and weights
 * - `predict`      GET/POST /predict
 * - `models:read`  list models, their versions, aliases and cards
 * - `models:write` import versions, delete imported versions, set and delete aliases
 * - `metrics:read` GET /metrics, so a Prometheus scraper needs no power over jobs
 * - `admin`        everything, including routes that declare no scope at all
 */
export const SCOPES = ['jobs:write', 'jobs:read', 'predict', 'models:read', 'models:write', 'metrics:read', 'admin'] as const

export type Scope = (typeof SCOPES)[number]

/** A route anyone may call, keys or not (probes, API docs). */
export const PUBLIC = 'public'

/** What a route declares in `config.scope`. */
export type RouteAccess = Scope | typeof PUBLIC

/**
 * The scope demanded of routes that declare none: secure by default, so a route someone
 * forgot to annotate is reachable by admins only rather than by everyone.
 */
export const UNDECLARED_ROUTE_SCOPE: Scope = 'admin'

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value)
}

/** Does a key with `held` scopes satisfy `required`? `admin` satisfies everything. */
export function grants(held: ReadonlySet<Scope>, required: Scope): boolean {
  return held.has(required) || held.has('admin')
}
