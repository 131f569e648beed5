// The top-level key scanner behind POST /search's "each parameter once": it must
// find exactly the keys JSON.parse sees, as written, whatever the strings, escapes,
// whitespace and nested values around them.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { firstRepeatedKey, topLevelKeys } from '../../src/worker/json-keys.ts'

const RUNS = 500

const anyUtf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 12 })
/** Keys that look like JSON syntax, any code point, lone surrogates, and the names that matter. */
const anyKey = fc.oneof(
  fc.string({ unit: fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', ' ', 'k', 'q', 'u', '/'), maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  anyUtf16,
  fc.constantFrom('q', 'k', '', '__proto__', 'constructor', '0', '10'),
)
/** JSON's own whitespace, which may stand between any two tokens. */
const anyWhitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 3 })

/** A key written with every UTF-16 unit as a \uXXXX escape: the same key to JSON.parse. */
const escapeAll = (key: string) => `"${[...Array(key.length).keys()].map((i) => `\\u${key.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`

describe('topLevelKeys', () => {
  it('finds the keys JSON.parse finds, in order, on objects without repeats', () => {
    fc.assert(
      fc.property(fc.dictionary(anyKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), fc.constantFrom(undefined, 2, '\t'), (object, indent) => {
        const text = JSON.stringify(object, null, indent)
        expect(topLevelKeys(text)).toEqual(Object.keys(JSON.parse(text)))
      }),
      { numRuns: RUNS },
    )
  })

  it('finds every key as written, repeats included, whatever the escapes, whitespace and values', () => {
    const entry = fc.tuple(anyKey, fc.boolean(), fc.jsonValue({ maxDepth: 3 }))
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), anyWhitespace, (entries, ws) => {
        const members = entries.map(([key, escaped, value]) => `${ws}${escaped ? escapeAll(key) : JSON.stringify(key)}${ws}:${ws}${JSON.stringify(value, null, ws.includes('\n') ? 1 : undefined)}${ws}`)
        const text = `${ws}{${members.join(',') || ws}}${ws}`
        expect(() => JSON.parse(text), text).not.toThrow()
        expect(topLevelKeys(text)).toEqual(entries.map(([key]) => key))
      }),
      { numRuns: RUNS },
    )
  })

  it('finds no keys in JSON that is not an object', () => {
    const notAnObject = fc.jsonValue({ maxDepth: 3 }).filter((value) => typeof value !== 'object' || value === null || Array.isArray(value))
    fc.assert(
      fc.property(notAnObject, anyWhitespace, (value, ws) => {
        expect(topLevelKeys(`${ws}${JSON.stringify(value)}${ws}`)).toEqual([])
      }),
      { numRuns: RUNS },
    )
  })

  it('skips nested keys and strings that look like keys', () => {
    expect(topLevelKeys('{"q":"onnx","k":1,"k":2}')).toEqual(['q', 'k', 'k'])
    expect(topLevelKeys('{"a":{"k":1,"k":2},"b":["k",{"k":3}],"c":"\\",\\"k\\":"}')).toEqual(['a', 'b', 'c'])
    expect(topLevelKeys('{"\\u006b":1,"k":2}')).toEqual(['k', 'k'])
    expect(topLevelKeys(' {\n\t"a\\\\" : "}" , "b\\"" : [ "]" ] }\r\n')).toEqual(['a\\', 'b"'])
    expect(topLevelKeys('{}')).toEqual([])
    expect(topLevelKeys('[{"k":1}]')).toEqual([])
  })
})

describe('firstRepeatedKey', () => {
  it('names the first key said twice', () => {
    expect(firstRepeatedKey(['q', 'k', 'k'])).toBe('k')
    expect(firstRepeatedKey(['q', 'k', 'q', 'k'])).toBe('q')
    expect(firstRepeatedKey(['q', 'k'])).toBeUndefined()
    expect(firstRepeatedKey([])).toBeUndefined()
  })
})
