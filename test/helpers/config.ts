import { loadConfig, type Config, type Limits, type ServingConfig } from '../../src/config.js'

export type ConfigOverrides = Partial<Omit<Config, 'limits' | 'serving'>> & { limits?: Partial<Limits>; serving?: Partial<ServingConfig> }

/**
 * Defaults as the service would compute them from an empty environment (never the
 * developer's own env), with an in-memory database, one training and one inference worker
 * (whatever the machine's cores), no load shedding and silent logs.
 */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  // No load shedding: on a shared, loaded machine a test's event loop can lag past
  // MAX_EVENT_LOOP_DELAY_MS and shed requests the test is not about. Tests of shedding
  // (limits.test.ts) and of a busy service (serving-http.test.ts) turn it on.
  const base = loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1', PREDICT_WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0' })
  return { ...base, ...overrides, limits: { ...base.limits, ...overrides.limits }, serving: { ...base.serving, ...overrides.serving } }
}
