import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeShard, decodeShardDisplay, encodeShard, encodeShardDisplay, sha256Hex, ShardDecodeError, shardRows, type Shard, type ShardDisplay } from '../../src/core/shard-codec.ts'
import type { ShardPostings } from '../../src/core/lexical.ts'
import { postingsOf } from '../support/postings.ts'

const emptyPostings = (): ShardPostings => postingsOf([])

const displayArbitrary = fc.record({
  cid: fc.array(fc.nat(1000), { minLength: 1, maxLength: 4 }),
  docs: fc.array(fc.record({ id: fc.string(), title: fc.string(), snippet: fc.string() }), { maxLength: 20 }),
}).map(({ cid, docs }): ShardDisplay => ({ cid, ids: docs.map((d) => d.id), titles: docs.map((d) => d.title), snippets: docs.map((d) => d.snippet) }))

const shardArbitrary = fc.integer({ min: 1, max: 16 }).chain((dims) =>
  fc.array(
    fc.record({
      scale: fc.float({ noNaN: true, noDefaultInfinity: true, min: 0, max: 10 }),
      terms: fc.array(fc.tuple(fc.nat(0xffffffff), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
    }),
    { maxLength: 20 },
  ).chain((docs) =>
    fc.record({
      cid: fc.array(fc.nat(1000), { minLength: 1, maxLength: 4 }),
      vectors: fc.int8Array({ minLength: docs.length * dims, maxLength: docs.length * dims }),
    }).map(({ cid, vectors }): Shard => ({
      cid,
      dims,
      vectors,
      scales: Float32Array.from(docs.map((d) => d.scale)),
      postings: postingsOf(docs.map((d) => d.terms)),
    })),
  ),
)

describe('shard codec', () => {
  it('round-trips any shard exactly', () => {
    fc.assert(
      fc.property(shardArbitrary, (shard) => {
        const decoded = decodeShard(encodeShard(shard))
        expect(decoded.cid).toEqual(shard.cid)
        expect(Array.from(decoded.vectors)).toEqual(Array.from(shard.vectors))
        expect(Array.from(decoded.scales)).toEqual(Array.from(shard.scales))
        for (const field of ['terms', 'idf', 'postingStart', 'rows', 'weights'] as const) {
          expect(Array.from(decoded.postings[field])).toEqual(Array.from(shard.postings[field]))
        }
      }),
    )
  })

  it('holds no view into the encoded bytes: a cached shard does not keep its whole encoding alive', () => {
    fc.assert(
      fc.property(shardArbitrary, (shard) => {
        const bytes = encodeShard(shard)
        const decoded = decodeShard(bytes)
        for (const array of [decoded.vectors, decoded.scales, ...Object.values(decoded.postings)]) {
          expect(array.buffer).not.toBe(bytes.buffer)
          expect(array.byteLength).toBe(array.buffer.byteLength)
        }
      }),
    )
  })

  it('rejects every truncation with a ShardDecodeError', () => {
    fc.assert(
      fc.property(shardArbitrary, fc.nat(), (shard, cut) => {
        const bytes = encodeShard(shard)
        const truncated = bytes.slice(0, cut % bytes.length)
        expect(() => decodeShard(truncated)).toThrow(ShardDecodeError)
      }),
    )
  })

  it('either rejects altered bytes or is caught by the sha256 the manifest stores', async () => {
    await fc.assert(
      fc.asyncProperty(shardArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), async (shard, at, flip) => {
        const bytes = encodeShard(shard)
        const altered = bytes.slice()
        altered[at % bytes.length] ^= flip
        expect(await sha256Hex(altered)).not.toBe(await sha256Hex(bytes))
        try {
          decodeShard(altered)
        } catch (error) {
          expect(error).toBeInstanceOf(ShardDecodeError)
        }
      }),
    )
  })

  it('rejects arbitrary bytes with a ShardDecodeError, or decodes them to a consistent shard', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), shardArbitrary.map((s) => encodeShard(s).map((b, i) => (i % 7 === 3 ? b ^ 0x80 : b)))), (bytes) => {
        let shard: Shard
        try {
          shard = decodeShard(bytes)
        } catch (error) {
          expect(error).toBeInstanceOf(ShardDecodeError)
          return
        }
        expect(shard.vectors.length).toBe(shardRows(shard) * shard.dims)
        for (let p = 0; p < shard.postings.rows.length; p++) expect(shard.postings.rows[p]).toBeLessThan(shardRows(shard))
      }),
    )
  })

  it('refuses to encode inconsistent shards', () => {
    const shard: Shard = { cid: [0], dims: 4, vectors: new Int8Array(3), scales: new Float32Array(1), postings: emptyPostings() }
    expect(() => encodeShard(shard)).toThrow(/expected 1×4/)
    const badRow = { ...shard, vectors: new Int8Array(4), postings: postingsOf([[], [[7, 1]]]) }
    expect(() => encodeShard(badRow)).toThrow(/row out of range/)
    // BM25 is normalized by the lexicon's (non-negative) idf and summed with the shard's; a row's scale is max |x| / 127.
    expect(() => encodeShard({ ...shard, vectors: new Int8Array(4), scales: Float32Array.of(-5) })).toThrow(/scales must be finite and not negative/)
    const negativeIdf = { ...postingsOf([[[7, 1]]]), idf: Float32Array.of(-1e30) }
    expect(() => encodeShard({ ...shard, vectors: new Int8Array(4), postings: negativeIdf })).toThrow(/idf must be finite and not negative/)
  })

  it('stores posting rows and counts in 1, 2 or 4 bytes each, as the largest needs, and reads them back', () => {
    for (const [rows, bytesPerRow] of [[200, 1], [300, 2], [70_000, 4]] as const) {
      // Every document holds term 1; every tenth also term 2.
      const tenths = Math.ceil(rows / 10)
      const postings: ShardPostings = {
        terms: Uint32Array.of(1, 2),
        idf: Float32Array.of(0.5, 2),
        postingStart: Uint32Array.of(0, rows, rows + tenths),
        rows: Uint32Array.from({ length: rows + tenths }, (_, p) => (p < rows ? p : (p - rows) * 10)),
        weights: new Uint8Array(rows + tenths).fill(9),
      }
      const shard: Shard = { cid: [0], dims: 1, vectors: new Int8Array(rows), scales: new Float32Array(rows).fill(1), postings }
      const bytes = encodeShard(shard)
      const decoded = decodeShard(bytes)
      for (const field of ['terms', 'idf', 'postingStart', 'rows', 'weights'] as const) expect(Array.from(decoded.postings[field])).toEqual(Array.from(shard.postings[field]))
      const count = postings.rows.length
      const narrow = encodeShard({ ...shard, postings: { ...postings, rows: new Uint32Array(count) } })
      // Same postings with every row 0 (one byte each): the difference is the rows' extra bytes.
      expect(bytes.length - narrow.length).toBe(count * (bytesPerRow - 1))
    }
  })

  it('stores vectors as one binary blob, not arrays of numbers', () => {
    const shard: Shard = { cid: [1, 2], dims: 64, vectors: new Int8Array(128).fill(-100), scales: new Float32Array([0.5, 0.25]), postings: emptyPostings() }
    const bytes = encodeShard(shard)
    // The 128 vector bytes appear as one contiguous run (msgpack would spend 2 bytes per int8 in an array).
    const run = Buffer.from(bytes).indexOf(Buffer.alloc(128, 0x9c))
    expect(run).toBeGreaterThan(0)
  })
})

describe('display codec', () => {
  it('round-trips any display object exactly', () => {
    fc.assert(
      fc.property(displayArbitrary, (display) => {
        expect(decodeShardDisplay(encodeShardDisplay(display))).toEqual(display)
      }),
    )
  })

  it('rejects every truncation, and anything that is not a display object, with a ShardDecodeError', () => {
    fc.assert(
      fc.property(displayArbitrary, fc.nat(), (display, cut) => {
        const bytes = encodeShardDisplay(display)
        expect(() => decodeShardDisplay(bytes.slice(0, cut % bytes.length))).toThrow(ShardDecodeError)
      }),
    )
    const shard: Shard = { cid: [1], dims: 2, vectors: new Int8Array(2), scales: new Float32Array(1), postings: emptyPostings() }
    expect(() => decodeShardDisplay(encodeShard(shard))).toThrow(/unsupported display object format/)
    expect(() => decodeShard(encodeShardDisplay({ cid: [1], ids: ['a'], titles: ['t'], snippets: ['s'] }))).toThrow(/unsupported shard format/)
  })

  it('refuses fields of different lengths, encoding or decoding', () => {
    expect(() => encodeShardDisplay({ cid: [0], ids: ['a', 'b'], titles: ['t'], snippets: ['s', 's'] })).toThrow(/differ in length/)
  })
})
