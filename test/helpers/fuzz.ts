import fc from 'fast-check'
import type { Limits } from '../../src/config.js'
import { OPTIMIZER_NAMES } from '../../src/engine/optimizers.js'
import { chunkedBody, percentEncode, type RawRequest } from './raw-http.js'

/**
 * Generators for the HTTP fuzz test (test/http/fuzz.test.ts): hostile strings and numbers,
 * valid job bodies within the configured limits, mutations of them, broken JSON text,
 * header values and query strings. Everything is built from fast-check arbitraries, so a
 * failing case shrinks and replays from its seed.
 */

// ---------------------------------------------------------------------------------------
// JSON text that JSON.stringify cannot write

/** Emitted verbatim by `toJsonText`: `1e999` (parses to Infinity), `-0`, deep nesting. */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `<raw ${this.text.length > 40 ? `${this.text.slice(0, 40)}...` : this.text}>`
  }
}

export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([key, child]) => `${JSON.stringify(key)}:${toJsonText(child)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

// ---------------------------------------------------------------------------------------
// Strings and numbers

/** Half of a surrogate pair on its own: valid in a JS string and in escaped JSON, not in UTF-8. */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code))

const SPECIAL_CHARS = ['\u0000', '\n', '\r', '\t', '"', '\\', '/', '%', '?', '#', '&', '=', ';', ',', '+', ' ', '😀', '𝄞', '\u202e', '\ufeff', 'é', 'ß', '\uffff', '\u0085', '\u2028']

export const nastyChar = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom(...SPECIAL_CHARS),
  loneSurrogate,
)

/** Strings that look like numbers to a sloppy parser. */
export const numberLikeString = fc.oneof(
  fc.constantFrom('0', '-0', '1', '-1', '1.5', '1e3', '1e308', '1e999', '-1e999', 'NaN', 'Infinity', '0x10', '010', ' 5 ', '5 ', '+5', '', '٣', '1_000', '4294967296', '9007199254740993', 'true', 'null'),
  fc.integer().map(String),
  fc.double().map(String),
)

export const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: nastyChar, maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  numberLikeString,
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'undefined', '../../etc/passwd', '<script>', "' OR 1=1 --", '${x}', '%s%n'),
  fc.nat({ max: 3000 }).map((n) => 'x'.repeat(n)),
)

export const extremeNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.constantFrom(1e308, -1e308, 5e-324, -5e-324, 0, 2 ** 53 + 2, -(2 ** 53), 2 ** 32, 2 ** 31, -1, 0.5, 1e21, 1.0000000000000002),
  fc.constantFrom('-0', '1e999', '-1e999', '1E-400', '0.0', '1.0', '1e0', '-0.0e-0').map((text) => new RawJson(text)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
)

/** `[[[...]]]` or `{"a":{"a":...}}`, deep enough to upset a recursive parser or validator. */
export const deepNesting = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean()).map(([depth, arrays]) =>
  new RawJson(arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`))

export const hugeArray = fc.tuple(fc.integer({ min: 100, max: 15_000 }), fc.constantFrom('1', '"a"', 'null', '[1]', '1e308', '{}')).map(
  ([length, item]) => new RawJson(`[${Array.from({ length }, () => item).join(',')}]`))

/** Any value to put where a field used to be. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: extremeNumber, weight: 3 },
  { arbitrary: nastyString, weight: 3 },
  { arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { '': null }, ['a'], [[]]), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), weight: 2 },
  { arbitrary: deepNesting, weight: 1 },
  { arbitrary: hugeArray, weight: 1 },
)

// ---------------------------------------------------------------------------------------
// Valid job bodies (within the fuzz run's limits), for mutation

/** Characters of training data: letters, emoji, astral-plane symbols, controls, lone surrogates. */
export const vocabChar = fc.oneof(
  { arbitrary: fc.constantFrom(...'abcdehlo '), weight: 4 },
  { arbitrary: fc.constantFrom('é', '😀', '𝄞', '€', '\u0000', '"', '\\', '\n'), weight: 2 },
  { arbitrary: loneSurrogate, weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 1 },
)

const chars = (min: number, max: number) => fc.array(vocabChar, { minLength: min, maxLength: max }).map((list) => list.join(''))

function dataArbitrary(limits: Limits) {
  const seqMax = Math.min(limits.maxSeqLen, 12)
  const pairs = fc.record({
    type: fc.constant('pairs'),
    pairs: fc.array(fc.array(fc.tuple(vocabChar, vocabChar), { minLength: 1, maxLength: seqMax }).map((steps) => ({
      input: steps.map(([input]) => input).join(''),
      target: steps.map(([, target]) => target).join(''),
    })), { minLength: 1, maxLength: 4 }),
  })
  const text = fc.record({
    type: fc.constant('text'),
    text: chars(2, 60),
    seq_len: fc.integer({ min: 1, max: seqMax }),
  }, { requiredKeys: ['type', 'text'] })
  const value = fc.double({ min: -100, max: 100, noNaN: true })
  const series = fc.record({
    type: fc.constant('series'),
    series: fc.oneof(
      fc.array(value, { minLength: 2, maxLength: 40 }),
      fc.integer({ min: 1, max: 3 }).chain((width) => fc.array(fc.array(value, { minLength: width, maxLength: width }), { minLength: 2, maxLength: 30 })),
    ),
    window: fc.integer({ min: 1, max: 8 }),
    horizon: fc.integer({ min: 1, max: 4 }),
  }, { requiredKeys: ['type', 'series'] })
  const classes = fc.record({
    type: fc.constant('classes'),
    examples: fc.array(fc.record({ input: chars(1, seqMax), label: fc.constantFrom('a', 'b', '__proto__', '😀', 'x y', 'constructor') }), { minLength: 2, maxLength: 8 }),
  })
  return fc.oneof(pairs, text, series, classes)
}

export function validJobBody(limits: Limits): fc.Arbitrary<Record<string, unknown>> {
  const model = fc.record({
    type: fc.constantFrom('rnn', 'lstm', 'gru'),
    hidden_size: fc.integer({ min: 1, max: limits.maxHiddenSize }),
    num_layers: fc.integer({ min: 1, max: limits.maxNumLayers }),
    bidirectional: fc.boolean(),
    dropout: fc.double({ min: 0, max: 0.9, noNaN: true }),
    nonlinearity: fc.constantFrom('tanh', 'relu'),
    proj_size: fc.constantFrom(0, 0, 1, 2),
  }, { requiredKeys: ['type'] })
  const training = fc.record({
    epochs: fc.integer({ min: 1, max: 3 }),
    optimizer: fc.constantFrom(...OPTIMIZER_NAMES),
    learning_rate: fc.double({ min: 1e-4, max: 1, noNaN: true }),
    batch_size: fc.integer({ min: 1, max: 8 }),
    seed: fc.nat(),
    clip_grad_norm: fc.option(fc.double({ min: 0.1, max: 10, noNaN: true })),
    validation_split: fc.constantFrom(0, 0.1, 0.25, 0.5),
    checkpoint_every: fc.integer({ min: 1, max: 5 }),
    max_runtime_seconds: fc.integer({ min: 1, max: 30 }),
    carry_hidden: fc.boolean(),
    shuffle: fc.boolean(),
    weight_decay: fc.constantFrom(0, 0.01),
    momentum: fc.constantFrom(0, 0.9),
  }, { requiredKeys: [] })
  return fc.record({
    name: fc.constantFrom('fuzz', 'fuzz-1', 'fuzz.model_2', 'greeter'),
    model,
    data: dataArbitrary(limits),
    training,
  }, { requiredKeys: ['model', 'data'] })
}

// ---------------------------------------------------------------------------------------
// Mutations of a JSON tree

export type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'rename'; at: number; name: string }
  | { kind: 'add'; at: number; name: string; value: unknown }
  | { kind: 'repeat'; at: number; times: number }

const fieldName = fc.oneof(
  fc.constantFrom('name', 'model', 'data', 'training', 'type', 'epochs', 'hidden_size', 'input', 'inputs', 'job', 'extra', '__proto__', 'constructor', ''),
  nastyString,
)

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: weirdValue }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat(), name: fieldName }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), name: fieldName, value: weirdValue }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), times: fc.integer({ min: 2, max: 300 }) }),
)

interface Slot { parent: Record<string, unknown> | unknown[]; key: string | number }

/** Every place a value sits in the tree (the root excluded), depth first. */
function slots(value: unknown, found: Slot[] = []): Slot[] {
  if (value instanceof RawJson || value === null || typeof value !== 'object') return found
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((child, i) => [i, child]) : Object.entries(value)
  for (const [key, child] of entries) {
    found.push({ parent: value as Slot['parent'], key })
    slots(child, found)
  }
  return found
}

function setSlot({ parent, key }: Slot, value: unknown): void {
  // defineProperty, so a "__proto__" key becomes an own field instead of the prototype.
  Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Applies the mutations in order to a copy; `at` picks a slot modulo the slot count. */
export function applyMutations(value: unknown, mutations: readonly Mutation[]): unknown {
  const root = { root: structuredCloneWithRaw(value) }
  for (const m of mutations) {
    const all = slots(root)
    const slot = all[m.at % all.length]!
    const current = (slot.parent as Record<string | number, unknown>)[slot.key]
    switch (m.kind) {
      case 'delete':
        if (slot.parent === root) break
        if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1)
        else delete slot.parent[slot.key as string]
        break
      case 'replace':
        setSlot(slot, m.value)
        break
      case 'rename':
        if (Array.isArray(slot.parent) || slot.parent === root) break
        delete slot.parent[slot.key as string]
        setSlot({ parent: slot.parent, key: m.name }, current)
        break
      case 'add':
        if (current !== null && typeof current === 'object' && !Array.isArray(current) && !(current instanceof RawJson)) {
          setSlot({ parent: current as Record<string, unknown>, key: m.name }, m.value)
        }
        break
      case 'repeat':
        if (Array.isArray(current)) setSlot(slot, Array.from({ length: m.times }, () => current).flat())
        else if (typeof current === 'string') setSlot(slot, current.repeat(m.times))
        break
    }
  }
  return root.root
}

function structuredCloneWithRaw(value: unknown): unknown {
  if (value instanceof RawJson) return value
  if (Array.isArray(value)) return value.map(structuredCloneWithRaw)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(value)) setSlot({ parent: out, key }, structuredCloneWithRaw(child))
    return out
  }
  return value
}

// ---------------------------------------------------------------------------------------
// Broken JSON text

export type TextEdit =
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'prefix'; bytes: Uint8Array }

const hostileBytes = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 8 }),
  fc.constantFrom(
    [0xef, 0xbb, 0xbf], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x00], [0x2c], [0x7b], [0x5d], [0x22], [0x5c],
  ).map((bytes) => Uint8Array.from(bytes)),
)

export const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: hostileBytes }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('prefix' as const), bytes: hostileBytes }),
)

export function applyTextEdits(text: Buffer, edits: readonly TextEdit[]): Buffer {
  let out = text
  for (const edit of edits) {
    const at = edit.kind === 'prefix' ? 0 : edit.at % (out.length + 1)
    if (edit.kind === 'truncate') out = out.subarray(0, at)
    else if (edit.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + edit.count)])
    else out = Buffer.concat([out.subarray(0, at), Buffer.from(edit.bytes), out.subarray(at)])
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Headers and query strings

export const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'Application/JSON', 'application/json;charset=latin1',
  'application/json; charset=utf-16', 'application/json; boundary=x', 'application/json;', ';application/json', 'application/jsonx',
  'application/vnd.api+json', 'text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=abc',
  'application/octet-stream', '*/*', '', 'application/json, text/plain', 'application/json; charset="utf-8"', 'application/json; q=0.5; charset=utf-8',
]

/** A header value as latin1 text a conforming parser accepts: visible bytes, space, tab, obs-text. */
export const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '')),
  numberLikeString.map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  fc.nat({ max: 4000 }).map((n) => 'k'.repeat(n)),
  // UTF-8 bytes sent as latin1: what a client does when it writes a non-ASCII header.
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => Buffer.from(s, 'utf8').toString('latin1').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '')),
)

export type Header = readonly [string, string]

/** Methods to try on any path: the API's, others HTTP defines, and WebDAV's. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH']

/** Headers a client might send to any route, with duplicates and nonsense values. */
export function randomHeaders(extra: fc.Arbitrary<Header>[] = []): fc.Arbitrary<Header[]> {
  const common: fc.Arbitrary<Header> = fc.oneof(
    fc.tuple(fc.constant('content-type'), fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerValue)),
    fc.tuple(fc.constant('idempotency-key'), fc.oneof(fc.constantFrom('fuzz-key-1', 'fuzz-key-2', ''), headerValue)),
    fc.tuple(fc.constant('authorization'), fc.oneof(fc.constantFrom('Bearer x', 'Basic dXNlcjpwYXNz', 'Bearer', ''), headerValue)),
    fc.tuple(fc.constant('x-request-id'), headerValue),
    fc.tuple(fc.constantFrom('accept', 'accept-encoding', 'accept-language', 'origin', 'referer', 'cookie', 'x-forwarded-for', 'if-none-match', 'range', 'te'), headerValue),
    fc.tuple(fc.constant('content-encoding'), fc.constantFrom('gzip', 'identity', 'br', 'x')),
    fc.tuple(fc.string({ unit: fc.constantFrom(...'abcxyz-_0123456789'), minLength: 1, maxLength: 20 }), headerValue),
    ...extra,
  )
  const header = fc.oneof(
    { weight: 100, arbitrary: common },
    // Rare: Node answers an unknown expectation with 417 before the app sees the request.
    { weight: 1, arbitrary: fc.tuple(fc.constant('expect'), fc.constantFrom('100-continue', 'nonsense')) },
  )
  return fc.array(header, { maxLength: 5 })
}

export type QueryEncoding = 'utf8' | 'loose' | 'bytes'

/** Encodes one query component: properly, loosely (only what would break the request line), or as arbitrary bytes. */
export function encodeComponent(text: string, encoding: QueryEncoding, bytes: Uint8Array): string {
  if (encoding === 'utf8') return percentEncode(text)
  if (encoding === 'bytes') return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
  // Leaves & = + % ; as they are, so keys split, values collide and escapes break.
  return text.replace(/[^\x21-\x7e]|#/g, (c) => percentEncode(c))
}

export type QueryEntry = { key: string; value: string | null; encoding: QueryEncoding; bytes: Uint8Array }

/** `entries` -> `a=1&b&c=%ZZ`; a null value sends the bare key. */
export function queryString(entries: readonly QueryEntry[]): string {
  return entries.map(({ key, value, encoding, bytes }) =>
    value === null ? encodeComponent(key, encoding, bytes) : `${encodeComponent(key, encoding, new Uint8Array())}=${encodeComponent(value, encoding, bytes)}`).join('&')
}

export function queryEntries(keys: fc.Arbitrary<string>, values: fc.Arbitrary<string>): fc.Arbitrary<QueryEntry[]> {
  const entry = fc.record({
    key: fc.oneof({ arbitrary: keys, weight: 5 }, { arbitrary: nastyString, weight: 1 }, { arbitrary: keys.map((k) => `${k}[]`), weight: 1 }),
    value: fc.oneof({ arbitrary: values, weight: 8 }, { arbitrary: fc.constant(null), weight: 1 }),
    encoding: fc.constantFrom<QueryEncoding>('utf8', 'utf8', 'utf8', 'loose', 'bytes'),
    bytes: fc.uint8Array({ maxLength: 6 }),
  })
  return fc.array(entry, { maxLength: 8 })
}

/** Path segments for `{id}`: real ids, percent-encoded nonsense, traversal, over-long. */
export function pathId(knownIds: () => readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.nat().map((i) => { const ids = knownIds(); return ids.length === 0 ? 'none' : ids[i % ids.length]! }), weight: 4 },
    { arbitrary: fc.uuid().map(String), weight: 1 },
    { arbitrary: nastyString.filter((s) => s.length > 0).map(percentEncode), weight: 3 },
    { arbitrary: fc.constantFrom('%2F', '..%2F..%2Fetc%2Fpasswd', '%00', '.', '..', '%2e%2e', '%ZZ', '%E0%A4', '%C0%AF', '%', 'a;b=c', '~', '*', 'x'.repeat(100), 'x'.repeat(101), 'x'.repeat(2000), '%F0%9F%98%80', '%ED%A0%80'), weight: 2 },
  )
}

// ---------------------------------------------------------------------------------------
// Request bodies

/** A POST /jobs body: valid, a mutation of a valid one, any JSON value, or broken JSON bytes. */
export function jobBodyBytes(limits: Limits): fc.Arbitrary<Buffer> {
  const valid = validJobBody(limits)
  return fc.oneof(
    { weight: 2, arbitrary: valid.map((json) => Buffer.from(toJsonText(json))) },
    { weight: 5, arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([json, edits]) => Buffer.from(toJsonText(applyMutations(json, edits)))) },
    { weight: 1, arbitrary: weirdValue.map((json) => Buffer.from(toJsonText(json))) },
    { weight: 2, arbitrary: fc.tuple(valid, fc.array(textEdit, { minLength: 1, maxLength: 3 })).map(([json, edits]) => applyTextEdits(Buffer.from(toJsonText(json)), edits)) },
  )
}

/** Mostly JSON, sometimes anything; null sends no content-type. */
export const bodyContentType = fc.oneof(
  { weight: 20, arbitrary: fc.constant<string | null>('application/json') },
  { weight: 2, arbitrary: fc.constantFrom<string | null>(...CONTENT_TYPES) },
  { weight: 1, arbitrary: headerValue },
  { weight: 1, arbitrary: fc.constant(null) },
)

/** How a body travels: content-length (null), or chunked in pieces of these sizes. */
export const bodyFraming = fc.oneof(
  { weight: 4, arbitrary: fc.constant<number[] | null>(null) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 4 }) },
)

/** Adds a body with its content-type (null: none) and framing to a request. */
export function withBody(request: RawRequest, body: Buffer, contentType: string | null, chunks: number[] | null): RawRequest {
  const headers: Header[] = [...(request.headers ?? [])]
  if (contentType !== null) headers.unshift(['content-type', contentType])
  if (chunks === null) return { ...request, headers, body }
  return { ...request, headers: [...headers, ['transfer-encoding', 'chunked']], body: chunkedBody(body, chunks) }
}
