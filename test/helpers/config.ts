import { loadConfig, type Config, type Env, type Limits } from '../../src/config.js'

export type ConfigOverrides = Partial<Omit<Config, 'limits'>> & { limits?: Partial<Limits> }

/**
 * Defaults as the service would compute them from an empty environment (never the
 * developer's own env), with an in-memory database, one worker and silent logs. Load
 * shedding is off: on a loaded machine it would turn any test's request into a 503;
 * test/http/limits.test.ts turns it on where it is the subject.
 */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  const base = configFromEnv()
  return { ...base, ...overrides, limits: { ...base.limits, ...overrides.limits } }
}

/** The test defaults above, as environment variables, with `env` on top of them. */
export function configFromEnv(env: Env = {}): Config {
  return loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0', ...env })
}
