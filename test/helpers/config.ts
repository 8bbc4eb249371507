import { loadConfig, type Config, type Env, type Limits, type ServingConfig } from '../../src/config.js'

export type ConfigOverrides = Partial<Omit<Config, 'limits' | 'serving'>> & { limits?: Partial<Limits>; serving?: Partial<ServingConfig> }

/**
 * Defaults as the service would compute them from an empty environment (never the
 * developer's own env), with an in-memory database, one training and one inference worker
 * (whatever the machine's cores) and silent logs. Load shedding is off: on a loaded machine
 * it would turn any test's request into a 503; test/http/limits.test.ts (and the busy-service
 * test in test/serving/serving-http.test.ts) turn it on where it is the subject.
 */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  const base = configFromEnv()
  return { ...base, ...overrides, limits: { ...base.limits, ...overrides.limits }, serving: { ...base.serving, ...overrides.serving } }
}

/** The test defaults above, as environment variables, with `env` on top of them. */
export function configFromEnv(env: Env = {}): Config {
  // Compute threads at the event loop's priority: on a machine shared with other test runs a
  // lowered training thread would crawl (test/pool/thread-priority.test.ts checks the setting).
  return loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', WORKERS: '1', PREDICT_WORKERS: '1', MAX_EVENT_LOOP_DELAY_MS: '0', WORKER_NICE: '0', PREDICT_WORKER_NICE: '0', ...env })
}
