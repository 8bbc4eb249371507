import { loadConfig, type Config, type Limits } from '../../src/config.js'

export type ConfigOverrides = Partial<Omit<Config, 'limits'>> & { limits?: Partial<Limits> }

/**
 * Defaults as the service would compute them from an empty environment (never the
 * developer's own env), with an in-memory database, one worker and silent logs.
 */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  const base = loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1' })
  return { ...base, ...overrides, limits: { ...base.limits, ...overrides.limits } }
}
