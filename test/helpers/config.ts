import { loadConfig, type Config, type Limits } from '../../src/config.js'

export type ConfigOverrides = Partial<Omit<Config, 'limits'>> & { limits?: Partial<Limits> }

/**
 * Defaults as the service would compute them from an empty environment (never the
 * developer's own env), with an in-memory database, one worker and silent logs, and no load
 * shedding: on a shared, busy machine the event loop lags past a second and the first
 * requests would get 503s (test/http/limits.test.ts turns shedding on to test it).
 */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  const base = loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0' })
  return { ...base, ...overrides, limits: { ...base.limits, ...overrides.limits } }
}
