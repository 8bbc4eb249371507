import os from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import t from 'tap'
import { ConfigError, loadConfig, PREDICT_MAX_COST_DEFAULT } from '../src/config.js'
import { ApiKeyTable } from '../src/http/auth/api-keys.js'

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`)
}

t.test('an empty environment gives the documented defaults', async (t) => {
  const config = loadConfig({})
  t.same(config, {
    port: 3000,
    host: '127.0.0.1',
    databasePath: './data/seqserve.db',
    databaseUrl: null,
    databasePathIgnored: false,
    role: 'all',
    nodeId: os.hostname(),
    workers: Math.max(1, os.availableParallelism() - 1),
    workerNice: 10,
    logLevel: 'info',
    logPretty: false,
    nodeEnv: 'production',
    leaseTtlMs: 15_000,
    heartbeatMs: 5_000,
    storagePauseMaxMs: 900_000,
    modelCacheSize: undefined,
    exportCacheBytes: 64 * 1024 * 1024,
    serving: {
      workers: Math.max(1, os.availableParallelism() - Math.max(1, os.availableParallelism() - 1)),
      workerNice: 5,
      modelCacheBytes: 512 * 1024 * 1024,
      timeoutMs: 5000,
      stopGraceMs: 1000,
      batchRows: 32,
      batchDelayMs: 5,
      queueLimit: 256,
      inlineMaxCost: 100_000,
      resolveTtlMs: 1000,
      maxCost: PREDICT_MAX_COST_DEFAULT,
      maxMemoryBytes: 256 * 1024 * 1024,
    },
    trustProxy: false,
    limits: {
      maxBodyBytes: 10 * 1024 * 1024,
      maxDatasetChars: 2_000_000,
      maxSeriesPoints: 1_000_000,
      maxExamples: 100_000,
      maxHiddenSize: 1024,
      maxNumLayers: 4,
      maxEpochs: 100_000,
      maxSeqLen: 1024,
      maxPredictLength: 2000,
      maxPredictBatch: 256,
      maxCheckpointBytes: 256 * 1024 * 1024,
      maxTrainingMemoryBytes: os.totalmem(),
    },
    apiKeys: ApiKeyTable.NONE,
    rateLimits: { jobsPerMinute: 60, predictPerMinute: 0 },
    maxQueuedJobs: 1000,
    maxEventLoopDelayMs: 1000,
    shutdownTimeoutMs: 8000,
    eventsHeartbeatMs: 15000,
    progressIntervalMs: 2000,
    corsOrigins: [],
    kernels: null,
  })
  t.equal(config.apiKeys.size, 0, 'no API keys: the service is open')
})

t.test('every variable is read', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    HOST: '0.0.0.0',
    DATABASE_PATH: '/data/seqserve.db',
    WORKERS: '3',
    LOG_LEVEL: 'debug',
    NODE_ENV: 'development',
    LEASE_TTL_MS: '9000',
    MODEL_CACHE_SIZE: '4',
    EXPORT_CACHE_BYTES: '0',
    MAX_BODY_BYTES: '2048',
    MAX_DATASET_CHARS: '100',
    MAX_SERIES_POINTS: '200',
    MAX_EXAMPLES: '300',
    MAX_HIDDEN_SIZE: '64',
    MAX_NUM_LAYERS: '2',
    MAX_EPOCHS: '500',
    MAX_SEQ_LEN: '128',
    MAX_PREDICT_LENGTH: '50',
    MAX_PREDICT_BATCH: '8',
    MAX_CHECKPOINT_BYTES: '4194304',
    API_KEYS: '{"0123456789abcdef0123":["jobs:read","predict"]}',
    RATE_LIMIT_JOBS_PER_MINUTE: '5',
    RATE_LIMIT_PREDICT_PER_MINUTE: '0',
    MAX_QUEUED_JOBS: '7',
    MAX_EVENT_LOOP_DELAY_MS: '250',
    SHUTDOWN_TIMEOUT_MS: '20000',
    PREDICT_WORKERS: '2',
    PREDICT_WORKER_NICE: '3',
    WORKER_NICE: '12',
    MODEL_CACHE_BYTES: '1048576',
    PREDICT_TIMEOUT_MS: '750',
    PREDICT_BATCH_ROWS: '8',
    PREDICT_STOP_GRACE_MS: '0',
    PREDICT_BATCH_DELAY_MS: '2',
    PREDICT_QUEUE_LIMIT: '9',
    PREDICT_MAX_COST: '123456',
    PREDICT_INLINE_MAX_COST: '0',
    PREDICT_RESOLVE_TTL_MS: '0',
    PREDICT_MAX_MEMORY_BYTES: '65536',
    TRUST_PROXY: '10.0.0.0/8',
    EVENTS_HEARTBEAT_MS: '500',
    PROGRESS_INTERVAL_MS: '0',
    STORAGE_PAUSE_MAX_MS: '0',
    CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
  })
  t.same(config.serving, {
    workers: 2, workerNice: 3, modelCacheBytes: 1048576, timeoutMs: 750, stopGraceMs: 0, batchRows: 8, batchDelayMs: 2, queueLimit: 9, inlineMaxCost: 0, resolveTtlMs: 0, maxCost: 123456, maxMemoryBytes: 65536,
  })
  t.equal(config.trustProxy, '10.0.0.0/8')
  t.match(config, {
    port: 8080,
    host: '0.0.0.0',
    databasePath: '/data/seqserve.db',
    workers: 3,
    workerNice: 12,
    logLevel: 'debug',
    nodeEnv: 'development',
    logPretty: true,
    leaseTtlMs: 9000,
    heartbeatMs: 3000,
    modelCacheSize: 4,
    exportCacheBytes: 0,
    rateLimits: { jobsPerMinute: 5, predictPerMinute: 0 },
    maxQueuedJobs: 7,
    maxEventLoopDelayMs: 250,
    shutdownTimeoutMs: 20000,
    eventsHeartbeatMs: 500,
    progressIntervalMs: 0,
    storagePauseMaxMs: 0,
  })
  t.same(config.corsOrigins, ['https://app.example.com', 'http://localhost:5173'])
  t.same(
    config.apiKeys.identities().map(({ id, scopes }) => ({ id, scopes: [...scopes] })),
    [{ id: 'key-1', scopes: ['jobs:read', 'predict'] }],
  )
  t.same(config.limits, {
    maxBodyBytes: 2048,
    maxDatasetChars: 100,
    maxSeriesPoints: 200,
    maxExamples: 300,
    maxHiddenSize: 64,
    maxNumLayers: 2,
    maxEpochs: 500,
    maxSeqLen: 128,
    maxPredictLength: 50,
    maxPredictBatch: 8,
    maxCheckpointBytes: 4194304,
    maxTrainingMemoryBytes: os.totalmem(),
  })
})

t.test('TRUST_PROXY: a boolean, a hop count or a list of addresses', async (t) => {
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: 'off' }).trustProxy, false)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.equal(loadConfig({ TRUST_PROXY: '127.0.0.1,10.0.0.0/8' }).trustProxy, '127.0.0.1,10.0.0.0/8')
})

t.test('training and inference workers never outnumber the cores by default', async (t) => {
  const config = loadConfig({})
  t.equal(config.workers + config.serving.workers, Math.max(2, os.availableParallelism()))
  t.equal(loadConfig({ WORKERS: '1', PREDICT_WORKERS: '3' }).serving.workers, 3, 'PREDICT_WORKERS is taken as given')
})

t.test('MODEL_CACHE_SIZE (deprecated) is still read as a count of models', async (t) => {
  t.equal(loadConfig({}).modelCacheSize, undefined)
  t.equal(loadConfig({ MODEL_CACHE_SIZE: '3' }).modelCacheSize, 3)
  t.match(configError({ MODEL_CACHE_SIZE: '0', MODEL_CACHE_BYTES: '10', PREDICT_WORKERS: '0' }).issues, [/MODEL_CACHE_SIZE/, /PREDICT_WORKERS/, /MODEL_CACHE_BYTES/])
})

t.test('DATABASE_URL selects PostgreSQL and wins over DATABASE_PATH; a non-postgres URL is refused without echoing it', async (t) => {
  const url = 'postgres://seqserve:s3cret@db.internal:5432/seqserve'
  t.match(loadConfig({ DATABASE_URL: url }), { databaseUrl: url, databasePathIgnored: false })
  t.match(loadConfig({ DATABASE_URL: url.replace('postgres:', 'postgresql:'), DATABASE_PATH: '/data/x.db' }), {
    databaseUrl: 'postgresql://seqserve:s3cret@db.internal:5432/seqserve',
    databasePathIgnored: true,
  })
  t.match(loadConfig({ DATABASE_URL: '  ', DATABASE_PATH: '/data/x.db' }), { databaseUrl: null, databasePathIgnored: false }, 'blank is unset')
  for (const bad of ['mysql://root:s3cret@db/seqserve', 'not a url s3cret', 'sqlite:///data/x.db']) {
    const error = configError({ DATABASE_URL: bad })
    t.match(error.issues, [/^DATABASE_URL is not allowed: must be a postgres:\/\/user:password@host:port\/database URL/])
    t.notMatch(error.message, /s3cret|mysql|sqlite:/, 'the message does not repeat the URL (it may hold a password)')
  }
})

t.test('ROLE picks api, worker or all; NODE_ID names the node', async (t) => {
  for (const role of ['api', 'worker', 'all'] as const) t.equal(loadConfig({ ROLE: role }).role, role)
  t.equal(loadConfig({ NODE_ID: 'worker-7' }).nodeId, 'worker-7')
  t.match(configError({ ROLE: 'trainer' }).issues, ['ROLE="trainer" is not allowed: must be one of api, worker, all'])
})

t.test('HEARTBEAT_MS defaults to a third of LEASE_TTL_MS and can be set', async (t) => {
  t.equal(loadConfig({ LEASE_TTL_MS: '1000' }).heartbeatMs, 333)
  t.equal(loadConfig({ LEASE_TTL_MS: '1000', HEARTBEAT_MS: '900' }).heartbeatMs, 900)
})

t.test('LOG_PRETTY overrides the NODE_ENV default', async (t) => {
  t.equal(loadConfig({ NODE_ENV: 'development', LOG_PRETTY: 'false' }).logPretty, false)
  t.equal(loadConfig({ LOG_PRETTY: 'yes' }).logPretty, true)
})

t.test('empty and blank values count as unset; surrounding spaces are ignored', async (t) => {
  const config = loadConfig({ PORT: '', HOST: '   ', WORKERS: ' 2 ' })
  t.equal(config.port, 3000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.workers, 2)
})

t.test('PORT=0 (any free port) is allowed', async (t) => {
  t.equal(loadConfig({ PORT: '0' }).port, 0)
})

t.test('a bad value names the variable, the value and what is allowed', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'http' }, 'PORT="http" is not allowed: must be an integer between 0 and 65535'],
    [{ PORT: '70000' }, 'PORT="70000" is not allowed: must be an integer between 0 and 65535'],
    [{ PORT: '80.5' }, 'PORT="80.5" is not allowed: must be an integer between 0 and 65535'],
    [{ PORT: '1e3' }, 'PORT="1e3" is not allowed: must be an integer between 0 and 65535'],
    [{ WORKERS: '0' }, 'WORKERS="0" is not allowed: must be an integer between 1 and 1024'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL="verbose" is not allowed: must be one of fatal, error, warn, info, debug, trace, silent'],
    [{ LOG_PRETTY: 'maybe' }, 'LOG_PRETTY="maybe" is not allowed: must be true or false (also 1/0, yes/no, on/off)'],
    [{ LEASE_TTL_MS: '10' }, 'LEASE_TTL_MS="10" is not allowed: must be an integer >= 100'],
    [{ MODEL_CACHE_SIZE: '-1' }, 'MODEL_CACHE_SIZE="-1" is not allowed: must be an integer >= 1'],
    [{ MAX_BODY_BYTES: '100' }, 'MAX_BODY_BYTES="100" is not allowed: must be an integer >= 1024'],
    [{ MAX_HIDDEN_SIZE: 'big' }, 'MAX_HIDDEN_SIZE="big" is not allowed: must be an integer >= 1'],
    [{ MAX_PREDICT_BATCH: '0' }, 'MAX_PREDICT_BATCH="0" is not allowed: must be an integer >= 1'],
    [{ RATE_LIMIT_JOBS_PER_MINUTE: '-1' }, 'RATE_LIMIT_JOBS_PER_MINUTE="-1" is not allowed: must be an integer >= 0'],
    [{ RATE_LIMIT_PREDICT_PER_MINUTE: 'lots' }, 'RATE_LIMIT_PREDICT_PER_MINUTE="lots" is not allowed: must be an integer >= 0'],
    [{ MAX_QUEUED_JOBS: '0' }, 'MAX_QUEUED_JOBS="0" is not allowed: must be an integer >= 1'],
    [{ MAX_EVENT_LOOP_DELAY_MS: '1.5' }, 'MAX_EVENT_LOOP_DELAY_MS="1.5" is not allowed: must be an integer >= 0'],
    [
      { LEASE_TTL_MS: '3000', HEARTBEAT_MS: '3000' },
      'HEARTBEAT_MS=3000 is not allowed: must be less than LEASE_TTL_MS (3000)',
    ],
  ]
  for (const [env, issue] of cases) {
    const error = configError(env)
    t.same(error.issues, [issue], JSON.stringify(env))
    t.match(error.message, issue)
  }
})

t.test('all bad values are reported together', async (t) => {
  const error = configError({ PORT: '-1', LOG_LEVEL: 'loud', MAX_EPOCHS: 'many' })
  t.equal(error.issues.length, 3)
  t.equal(
    error.message,
    'Invalid configuration:\n' +
      '  - PORT="-1" is not allowed: must be an integer between 0 and 65535\n' +
      '  - LOG_LEVEL="loud" is not allowed: must be one of fatal, error, warn, info, debug, trace, silent\n' +
      '  - MAX_EPOCHS="many" is not allowed: must be an integer >= 1',
  )
  t.ok(error instanceof Error)
})

t.test('loadConfig reads process.env by default', async (t) => {
  const saved = process.env.MAX_SEQ_LEN
  process.env.MAX_SEQ_LEN = '77'
  t.teardown(() => {
    if (saved === undefined) delete process.env.MAX_SEQ_LEN
    else process.env.MAX_SEQ_LEN = saved
  })
  t.equal(loadConfig().limits.maxSeqLen, 77)
})

const KEY_A = 'a1b2c3d4e5f6a7b8c9d0'
const KEY_B = 'Zm9vYmFyYmF6cXV4LXNlY3JldA=='

t.test('API_KEYS maps each key to its scopes; keys are known by position, never by content', async (t) => {
  const config = loadConfig({ API_KEYS: JSON.stringify({ [KEY_A]: ['jobs:write', 'jobs:read'], [KEY_B]: ['admin'] }) })
  t.equal(config.apiKeys.size, 2)
  t.same(config.apiKeys.identify(KEY_B)?.id, 'key-2')
  t.same([...(config.apiKeys.identify(KEY_A)?.scopes ?? [])], ['jobs:write', 'jobs:read'])
  t.equal(config.apiKeys.identify(`${KEY_A}x`), undefined, 'a longer key is a different key')
  t.equal(config.apiKeys.identify(KEY_A.slice(0, -1)), undefined, 'so is a prefix')
  t.equal(config.apiKeys.identify(''), undefined)
  // A config object that ends up in a log line or a test diff must not carry the secrets.
  for (const printed of [JSON.stringify(config), inspect(config, { depth: 5 })]) {
    t.notMatch(printed, KEY_A)
    t.notMatch(printed, KEY_B)
  }
  t.match(JSON.stringify(config), '[2 API keys, redacted]')
})

t.test('API_KEYS_FILE reads the same JSON from a file (a mounted secret)', async (t) => {
  const dir = t.testdir({ 'keys.json': `${JSON.stringify({ [KEY_A]: ['predict'] })}\n` })
  const config = loadConfig({ API_KEYS_FILE: join(dir, 'keys.json') })
  t.equal(config.apiKeys.identify(KEY_A)?.id, 'key-1')
  t.same([...(config.apiKeys.identify(KEY_A)?.scopes ?? [])], ['predict'])
})

t.test('bad API key settings name the variable and the key position, never the key', async (t) => {
  const dir = t.testdir({ 'broken.json': `{"${KEY_A}": ["admin"]` })
  const missing = join(dir, 'missing.json')
  const cases: [Record<string, string>, string[]][] = [
    [{ API_KEYS: `{${KEY_A}: admin}` }, ['API_KEYS is not valid JSON: expected {"<key>": ["<scope>", ...]}']],
    [{ API_KEYS: `["${KEY_A}"]` }, ['API_KEYS must be a JSON object {"<key>": ["<scope>", ...]}']],
    [{ API_KEYS: '{}' }, ['API_KEYS holds no keys; unset it to run without API keys']],
    [{ API_KEYS: '{"": ["admin"]}' }, ['API_KEYS key #1 is empty']],
    [
      { API_KEYS: JSON.stringify({ [KEY_A]: ['admin'], [KEY_B]: ['jobs:delete', 'predict'] }) },
      ['API_KEYS key #2 has unknown scope "jobs:delete": allowed are jobs:write, jobs:read, predict, models:read, models:write, metrics:read, admin'],
    ],
    [
      { API_KEYS: JSON.stringify({ [KEY_A]: [] }) },
      ['API_KEYS key #1 must map to a non-empty list of scopes (jobs:write, jobs:read, predict, models:read, models:write, metrics:read, admin)'],
    ],
    [
      { API_KEYS: JSON.stringify({ [KEY_A]: 'admin' }) },
      ['API_KEYS key #1 must map to a non-empty list of scopes (jobs:write, jobs:read, predict, models:read, models:write, metrics:read, admin)'],
    ],
    [
      { API_KEYS: JSON.stringify({ 'short-key': ['admin'] }) },
      ['API_KEYS key #1 is shorter than 16 characters; generate one with `openssl rand -hex 32`'],
    ],
    [
      { API_KEYS: JSON.stringify({ [`${KEY_A} with spaces`]: ['admin'] }) },
      ['API_KEYS key #1 has characters a Bearer token cannot carry (allowed: A-Z a-z 0-9 - . _ ~ + / and trailing =)'],
    ],
    [
      { API_KEYS: JSON.stringify({ [KEY_A]: ['admin'] }), API_KEYS_FILE: join(dir, 'broken.json') },
      ['API_KEYS and API_KEYS_FILE are both set: set only one'],
    ],
    [
      { API_KEYS_FILE: join(dir, 'broken.json') },
      [`API_KEYS_FILE (${join(dir, 'broken.json')}) is not valid JSON: expected {"<key>": ["<scope>", ...]}`],
    ],
    [{ API_KEYS_FILE: missing }, [`API_KEYS_FILE=${JSON.stringify(missing)} cannot be read (ENOENT)`]],
  ]
  for (const [env, issues] of cases) {
    const error = configError(env)
    t.same(error.issues, issues, JSON.stringify(env))
    for (const key of [KEY_A, KEY_B]) t.notMatch(error.message, key, 'the message never quotes a key')
  }
})

t.test('API key problems are reported together with every other bad variable', async (t) => {
  const error = configError({ PORT: 'x', API_KEYS: JSON.stringify({ '': ['admin'], [KEY_A]: ['root'] }), MAX_QUEUED_JOBS: '-3' })
  t.same(error.issues, [
    'PORT="x" is not allowed: must be an integer between 0 and 65535',
    'API_KEYS key #1 is empty',
    'API_KEYS key #2 has unknown scope "root": allowed are jobs:write, jobs:read, predict, models:read, models:write, metrics:read, admin',
    'MAX_QUEUED_JOBS="-3" is not allowed: must be an integer >= 1',
  ])
})

t.test('KERNELS chooses the engine kernel set; unset leaves the choice to the engine', async (t) => {
  t.equal(loadConfig({ KERNELS: 'js' }).kernels, 'js')
  t.equal(loadConfig({ KERNELS: 'wasm' }).kernels, 'wasm')
  t.equal(loadConfig({ KERNELS: '' }).kernels, null)
  t.match(configError({ KERNELS: 'simd' }).issues.join('\n'), /KERNELS="simd" is not allowed: must be one of wasm, js/)
})
