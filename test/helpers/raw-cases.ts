import fc from 'fast-check'
import { HTTP_METHODS } from './fuzz.js'
import { jsonHeaders } from './fuzz-target.js'
import { tutorialJob } from './jobs.js'
import { serializeRequest } from './raw-http.js'

/**
 * Protocol abuse for the fuzz test's raw-bytes pass: hand-picked cases (each sent once) and
 * a generator of request lines and headers assembled from random parts.
 */

const NO_JOB = '01J9Z3V4K6TQ8M2X5C7B9D1F3H'

const lines = (...parts: string[]) => Buffer.from(parts.join('\r\n'), 'latin1')
const TUTORIAL_TEXT = JSON.stringify(tutorialJob())

/** Hand-picked protocol abuse, each sent once. */
export const HANDCRAFTED: [label: string, bytes: Buffer][] = [
  ['HTTP/1.0 without host', lines('GET /healthz HTTP/1.0', '', '')],
  ['HTTP/1.1 without host', lines('GET /jobs HTTP/1.1', 'connection: close', '', '')],
  ['HTTP/2.0 request line', lines('GET /jobs HTTP/2.0', 'host: x', '', '')],
  ['HTTP/9.9 request line', lines('GET /jobs HTTP/9.9', 'host: x', '', '')],
  ['HTTP/0.9 style', lines('GET /jobs', '', '')],
  ['absolute-form target', lines('GET http://example.com/jobs HTTP/1.1', 'host: example.com', 'connection: close', '', '')],
  ['asterisk-form target', lines('OPTIONS * HTTP/1.1', 'host: x', 'connection: close', '', '')],
  ['CONNECT', lines('CONNECT 127.0.0.1:22 HTTP/1.1', 'host: 127.0.0.1:22', '', '')],
  ['unknown method token', lines('FROB /jobs HTTP/1.1', 'host: x', 'connection: close', '', '')],
  ['lower-case method', lines('get /jobs HTTP/1.1', 'host: x', 'connection: close', '', '')],
  ['raw UTF-8 in the target', Buffer.concat([Buffer.from('GET /jobs/'), Buffer.from('ä😀', 'utf8'), lines(' HTTP/1.1', 'host: x', 'connection: close', '', '')])],
  ['raw 0xff in the target', Buffer.concat([Buffer.from('GET /predict?input='), Buffer.from([0xff, 0xfe]), lines(' HTTP/1.1', 'host: x', 'connection: close', '', '')])],
  ['space in the target', lines('GET /jobs/a b HTTP/1.1', 'host: x', 'connection: close', '', '')],
  ['fragment in the target', lines('GET /jobs#frag HTTP/1.1', 'host: x', 'connection: close', '', '')],
  ['20 KB URL', lines(`GET /jobs?name=${'n'.repeat(20_000)} HTTP/1.1`, 'host: x', 'connection: close', '', '')],
  ['20 KB path', lines(`GET /jobs/${'n'.repeat(20_000)} HTTP/1.1`, 'host: x', 'connection: close', '', '')],
  ['3000 headers', lines('GET /jobs HTTP/1.1', 'host: x', ...Array.from({ length: 3000 }, (_, i) => `x-h${i}: ${i}`), 'connection: close', '', '')],
  ['header without colon', lines('GET /jobs HTTP/1.1', 'host: x', 'no colon here', 'connection: close', '', '')],
  ['space in header name', lines('GET /jobs HTTP/1.1', 'host: x', 'bad header: 1', 'connection: close', '', '')],
  ['obs-fold header', lines('GET /jobs HTTP/1.1', 'host: x', 'x-folded: a', ' b', 'connection: close', '', '')],
  ['NUL in header value', lines('GET /jobs HTTP/1.1', 'host: x', 'x-nul: a\u0000b', 'connection: close', '', '')],
  ['bare LF line endings', Buffer.from('GET /jobs HTTP/1.1\nhost: x\nconnection: close\n\n', 'latin1')],
  ['bare CR in header', lines('GET /jobs HTTP/1.1', 'host: x', 'x-cr: a\rb', 'connection: close', '', '')],
  ['two hosts', lines('GET /jobs HTTP/1.1', 'host: x', 'host: y', 'connection: close', '', '')],
  ['conflicting content-lengths', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: 2', 'content-length: 3', 'connection: close', '', '{}')],
  ['negative content-length', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: -1', 'connection: close', '', '{}')],
  ['non-numeric content-length', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: 1e3', 'connection: close', '', '{}')],
  ['content-length over the body limit', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: 99999999999', 'connection: close', '', '{}')],
  ['content-length longer than the body', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: 500', 'connection: close', '', TUTORIAL_TEXT.slice(0, 100))],
  ['content-length shorter than the body', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: 10', 'connection: close', '', TUTORIAL_TEXT)],
  ['content-length and chunked', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: 2', 'transfer-encoding: chunked', 'connection: close', '', '2', '{}', '0', '', '')],
  ['chunk size not hex', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'transfer-encoding: chunked', 'connection: close', '', 'zz', '{}', '0', '', '')],
  ['chunk size overflow', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'transfer-encoding: chunked', 'connection: close', '', 'ffffffffffffffffff', '{}', '0', '', '')],
  ['chunk without terminator', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'transfer-encoding: chunked', 'connection: close', '', '2', '{}', '')],
  ['chunk extension and trailer', lines('POST /predict HTTP/1.1', 'host: x', 'content-type: application/json', 'transfer-encoding: chunked', 'connection: close', '', '2;ext=1', '{}', '0', 'x-trailer: 1', '', '')],
  ['transfer-encoding gzip', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'transfer-encoding: gzip', 'connection: close', '', '{}')],
  ['transfer-encoding chunked, gzip', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'transfer-encoding: chunked, gzip', 'connection: close', '', '2', '{}', '0', '', '')],
  ['content-encoding gzip on plain JSON', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'content-encoding: gzip', `content-length: ${TUTORIAL_TEXT.length}`, 'connection: close', '', TUTORIAL_TEXT)],
  ['expect: 100-continue', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'expect: 100-continue', 'content-length: 2', 'connection: close', '', '{}')],
  ['expect: something else', lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'expect: the-unexpected', 'content-length: 2', 'connection: close', '', '{}')],
  ['upgrade to websocket', lines('GET /jobs HTTP/1.1', 'host: x', 'connection: upgrade', 'upgrade: websocket', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version: 13', '', '')],
  ['upgrade to h2c', lines('GET /jobs HTTP/1.1', 'host: x', 'connection: upgrade, http2-settings', 'upgrade: h2c', 'http2-settings: AAMAAABkAAQAAP__', '', '')],
  ['HTTP/2 preface', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')],
  ['TLS client hello', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03])],
  ['pipelined request then garbage', Buffer.concat([lines('GET /healthz HTTP/1.1', 'host: x', '', ''), Buffer.from('\u0000\u0001garbage\r\n\r\n', 'latin1')])],
  ['pipelined POST bodies', Buffer.concat([lines('POST /predict HTTP/1.1', 'host: x', 'content-type: application/json', 'content-length: 2', '', '{}'), lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', 'connection: close', 'content-length: 1', '', '{')])],
  ['JSON with a UTF-8 BOM', Buffer.concat([lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json', `content-length: ${TUTORIAL_TEXT.length + 3}`, 'connection: close', '', ''), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TUTORIAL_TEXT)])],
  ['JSON in UTF-16', Buffer.concat([lines('POST /jobs HTTP/1.1', 'host: x', 'content-type: application/json; charset=utf-16le', `content-length: ${TUTORIAL_TEXT.length * 2}`, 'connection: close', '', ''), Buffer.from(TUTORIAL_TEXT, 'utf16le')])],
  ['invalid UTF-8 inside a JSON string', serializeRequest({ method: 'POST', target: '/jobs', headers: jsonHeaders, body: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0xaf, 0xff, 0xed, 0xa0, 0x80]), Buffer.from('","model":{"type":"rnn"},"data":{"type":"text","text":"ab"}}')]) })],
  ['prototype pollution', serializeRequest({ method: 'POST', target: '/jobs', headers: jsonHeaders, body: '{"constructor":{"prototype":{"polluted":true}},"model":{"type":"rnn"},"data":{"type":"text","text":"ab"}}' })],
  ['__proto__ in a predict body', serializeRequest({ method: 'POST', target: '/predict', headers: jsonHeaders, body: `{"job":"${NO_JOB}","inputs":["a"],"__proto__":{"length":1}}` })],
]


/** A request line and headers assembled from random parts, control characters allowed. */
export const assembledRequest = fc.record({
  method: fc.oneof(fc.constantFrom(...HTTP_METHODS, 'get', 'G ET', ''), fc.string({ unit: 'binary-ascii', maxLength: 8 })),
  target: fc.oneof(fc.constantFrom('/jobs', '/predict?input=a', '/healthz', '*', ''), fc.string({ unit: 'binary-ascii', maxLength: 60 })),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'http/1.1', 'HTTP/11', ''),
  headers: fc.array(fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 12 }), fc.string({ unit: 'binary-ascii', maxLength: 30 })), { maxLength: 4 }),
  body: fc.option(fc.uint8Array({ maxLength: 64 })),
}).map(({ method, target, version, headers, body }) => serializeRequest({ method, target, version, headers, ...(body ? { body: Buffer.from(body) } : {}) }))

/** The first token of a request, for the contract check (HEAD answers have no body). */
export function methodOf(bytes: Buffer): string {
  return bytes.subarray(0, 16).toString('latin1').split(' ')[0] ?? ''
}
