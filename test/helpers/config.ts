import { loadConfig, type Config, type Limits, type ServingConfig } from '../../src/config.js'

export type ConfigOverrides = Partial<Omit<Config, 'limits' | 'serving'>> & { limits?: Partial<Limits>; serving?: Partial<ServingConfig> }

/**
 * Defaults as the service would compute them from an empty environment (never the
 * developer's own env), with an in-memory database, one training and one inference worker
 * (whatever the machine's cores) and silent logs.
 */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  const base = loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1', PREDICT_WORKERS: '1' })
  return { ...base, ...overrides, limits: { ...base.limits, ...overrides.limits }, serving: { ...base.serving, ...overrides.serving } }
}
