/** Characters <-> ids. Built from the data: the unique characters sorted by code point. */
export class Vocabulary {
  readonly chars: readonly string[]
  private readonly ids: Map<string, number>

  constructor(chars: readonly string[]) {
    this.chars = [...chars]
    this.ids = new Map(this.chars.map((c, i) => [c, i]))
    if (this.ids.size !== this.chars.length) throw new Error('vocabulary characters must be unique')
  }

  static fromTexts(texts: Iterable<string>): Vocabulary {
    const set = new Set<string>()
    for (const text of texts) for (const c of text) set.add(c)
    return new Vocabulary([...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  get size(): number {
    return this.chars.length
  }

  has(c: string): boolean {
    return this.ids.has(c)
  }

  /** Characters of `text` that are not in the vocabulary, each once, in order of appearance. */
  unknown(text: string): string[] {
    const missing = new Set<string>()
    for (const c of text) if (!this.ids.has(c)) missing.add(c)
    return [...missing]
  }

  /** Ids of the characters (code points) of `text`; throws UnknownCharactersError naming the unknown ones. */
  encode(text: string): Int32Array {
    const missing = this.unknown(text)
    if (missing.length > 0) throw new UnknownCharactersError(missing)
    return Int32Array.from([...text], (c) => this.ids.get(c)!)
  }

  decode(ids: ArrayLike<number>): string {
    let out = ''
    for (let i = 0; i < ids.length; i++) out += this.chars[ids[i]]
    return out
  }
}

export class UnknownCharactersError extends Error {
  constructor(readonly characters: string[]) {
    super(`characters not in the model's vocabulary: ${characters.map((c) => JSON.stringify(c)).join(', ')}`)
    this.name = 'UnknownCharactersError'
  }
}
