/**
 * Measures, against real PyTorch, that models trained in PyTorch and imported through the
 * API predict (greedy) exactly what PyTorch predicts. Not part of `npm test` (CI machines
 * have no PyTorch); run it where torch is installed:
 *
 *   npx tsx scripts/torch-import-check.ts [--python=/usr/bin/python3]
 *
 * PyTorch trains 12 small models (pairs and text x RNN/LSTM/GRU, multi-layer,
 * bidirectional) in float32 and saves each as F32 safetensors with a minimal card in
 * __metadata__["card"] and its vocabulary in Python's code-point order; each file is POSTed
 * to /models/{name}/versions of an in-process server, and /predict (temperature 0) is
 * compared with what PyTorch generated in float32 and in float64.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

const python = process.argv.find((a) => a.startsWith('--python='))?.slice('--python='.length) ?? '/usr/bin/python3'
const dir = mkdtempSync(join(tmpdir(), 'seqserve-torch-import-'))
const TRAIN = String.raw`# Trains small models in PyTorch the way a user would (float32, Adam), exports each as a
# safetensors file with a minimal model card in __metadata__["card"], and records greedy predictions.
import json, struct, sys, torch
torch.manual_seed(0)
out_dir = sys.argv[1]

def save_safetensors(path, state, card):
    header, blobs, offset = {'__metadata__': {'card': json.dumps(card)}}, [], 0
    for name, t in state.items():
        b = t.detach().contiguous().float().numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b); offset += len(b)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))

class Net(torch.nn.Module):
    def __init__(self, cls, V, H, **kw):
        super().__init__()
        self.rnn = getattr(torch.nn, cls)(V, H, batch_first=True, **kw)
        D = 2 if kw.get('bidirectional') else 1
        self.fc = torch.nn.Linear(H * D, V)
    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.fc(out), state

def one_hot(ids, V, dtype):
    return torch.nn.functional.one_hot(torch.tensor([ids]), V).to(dtype)

cases = []
text = 'the cat sat on the mat. the dog sat on the log. ﬁsh 😀 ate the cat. '
pairs = [('hello', 'elloh'), ('world', 'orldw'), ('ﬁsh😀', 'sh😀ﬁ'), ('lower', 'owerl')]
configs = [('RNN', dict(nonlinearity='tanh')), ('LSTM', dict(num_layers=2)), ('GRU', dict(bidirectional=True)), ('RNN', dict(nonlinearity='relu', num_layers=2)), ('LSTM', dict(bidirectional=True)), ('GRU', dict(num_layers=2))]
for task in ('pairs', 'text'):
    chars = sorted(set(text if task == 'text' else ''.join(a + b for a, b in pairs)))  # Python order: code points
    V, H = len(chars), 24
    idx = {c: i for i, c in enumerate(chars)}
    for cls, kw in configs:
        net = Net(cls, V, H, **kw)
        opt = torch.optim.Adam(net.parameters(), lr=0.02)
        for step in range(150):
            if task == 'text':
                s = step % (len(text) - 17)
                seq = [idx[c] for c in text[s:s + 17]]
                x, y = one_hot(seq[:-1], V, torch.float32), torch.tensor(seq[1:])
            else:
                a, b = pairs[step % len(pairs)]
                x, y = one_hot([idx[c] for c in a], V, torch.float32), torch.tensor([idx[c] for c in b])
            logits, _ = net(x)
            loss = torch.nn.functional.cross_entropy(logits[0], y)
            opt.zero_grad(); loss.backward(); opt.step()
        net.eval()
        name = f"{task}-{cls.lower()}-{'-'.join(f'{k}{v}' for k, v in kw.items())}"
        kwargs = dict(input_size=V, hidden_size=H, batch_first=True, **kw)
        card = {'task': task, 'architecture': {'rnn': {'class': cls, 'kwargs': kwargs}}, 'vocabulary': {'tokens': chars}}
        save_safetensors(f'{out_dir}/{name}.safetensors', net.state_dict(), card)
        preds = {}
        for dtype in (torch.float32, torch.float64):
            m = net.to(dtype)
            got = []
            with torch.no_grad():
                inputs = ['the ', 'on t', 'ﬁsh', 'd'] if task == 'text' else ['hello', 'ﬁsh😀', 'world', 'owl']
                for inp in inputs:
                    logits, state = m(one_hot([idx[c] for c in inp], V, dtype))
                    if task == 'pairs':
                        got.append(''.join(chars[i] for i in logits[0].argmax(1)))
                        continue
                    gen = []
                    for _ in range(40):
                        nxt = int(logits[0, -1].argmax()); gen.append(chars[nxt])
                        logits, state = m(one_hot([nxt], V, dtype), state)
                    got.append(''.join(gen))
            preds[str(dtype).split('.')[-1]] = got
        cases.append({'name': name, 'task': task, 'file': f'{out_dir}/{name}.safetensors', 'inputs': inputs, 'torch': preds})
json.dump(cases, open(f'{out_dir}/cases.json', 'w'), ensure_ascii=False)
print(f'trained {len(cases)} models with torch {torch.__version__}')
`
writeFileSync(join(dir, 'train.py'), TRAIN)
process.stdout.write(execFileSync(python, [join(dir, 'train.py'), dir], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' }, encoding: 'utf8' }))

interface Case { name: string; task: string; file: string; inputs: string[]; torch: { float32: string[]; float64: string[] } }
const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as Case[]
const app = await buildApp({ config: { ...loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent' }), maxEventLoopDelayMs: 0 }, logger: false, training: false })
await app.listen({ host: '127.0.0.1', port: 0 })
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
let same32 = 0
let same64 = 0
let total = 0
try {
  for (const c of cases) {
    const r = await fetch(`${base}/models/${c.name}/versions`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: readFileSync(c.file) })
    if (r.status !== 201) throw new Error(`${c.name}: import answered ${r.status} ${await r.text()}`)
    const { version } = (await r.json()) as { version: number }
    for (const [i, input] of c.inputs.entries()) {
      const q = new URLSearchParams({ model: c.name, version: String(version), input, length: '40', temperature: '0' })
      const served = ((await (await fetch(`${base}/predict?${q}`)).json()) as { output: string }).output
      total++
      if (served === c.torch.float32[i]) same32++
      if (served === c.torch.float64[i]) same64++
      console.log(`${c.name.padEnd(40)} ${JSON.stringify(input).padEnd(10)} ${served === c.torch.float32[i] ? 'OK  ' : 'DIFF'} ${JSON.stringify(served)}`)
    }
  }
} finally {
  await app.close()
}
console.log(`imported through POST /models/{name}/versions: ${same32}/${total} greedy predictions equal PyTorch float32, ${same64}/${total} equal PyTorch float64`)
if (same32 !== total) process.exitCode = 1
