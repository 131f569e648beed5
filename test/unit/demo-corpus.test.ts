import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectDemoCorpus, type DemoDoc } from '../../scripts/demo-corpus.ts'

/** `count` distinct filler words, so word counts in assertions are exact. */
function filler(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`).join(' ')
}

const ALPHA_README = `[![npm](https://img.shields.io/npm/v/alpha.svg)](https://npmjs.com/package/alpha) [![ci](https://ci.example/badge.svg)](https://ci.example)

# alpha

Alpha creates sessions with a [link text](https://example.com/docs) and **bold words** and <b>html</b> markup. ${filler('intro', 20)}

## Install

Install it with your package manager. ${filler('install', 20)}

\`\`\`sh
# not a heading
npm install alpha
\`\`\`

## API

### createSession

createSession(options) opens a session. ${filler('create', 20)}

| Option | Meaning |
|--------|---------|
| ttl    | seconds before expiry |

Usage
-----

Call createSession once per request. ${filler('usage', 20)}

## Tiny

Too short to keep.

## License

${filler('mit', 30)}
`

const ALPHA_GUIDE = `# Guide

The guide explains the tilde fence below. ${filler('guide', 20)}

~~~md
### not a heading either
~~~

\`\`\`js
${Array.from({ length: 20 }, (_, i) => `const LONGCODETOKEN${i} = ${i}`).join('\n')}
\`\`\`
`

const GAMMA_README = `# @scope/gamma

Gamma is a scoped package. ${filler('gamma', 25)}
`

const BETA_README = `# beta

## Long

${filler('long', 900)}
`

function packageJson(name: string, version: string): string {
  return JSON.stringify({ name, version })
}

/** Writes a fake node_modules tree: files keyed by path relative to the tree root. */
function writeTree(root: string, files: Record<string, string>): void {
  for (const [relPath, content] of Object.entries(files)) {
    const filePath = path.join(root, relPath)
    mkdirSync(path.dirname(filePath), { recursive: true })
    writeFileSync(filePath, content)
  }
}

let tempDir = ''
let nodeModules = ''
let corpus: DemoDoc[] = []

beforeAll(() => {
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'demo-corpus-'))
  nodeModules = path.join(tempDir, 'node_modules')
  writeTree(nodeModules, {
    'alpha/package.json': packageJson('alpha', '1.0.0'),
    'alpha/README.md': ALPHA_README,
    'alpha/CHANGELOG.md': `## 1.0.0\n\n${filler('changelog', 30)}\n`,
    'alpha/LICENSE.md': `# MIT License\n\n${filler('license', 30)}\n`,
    'alpha/docs/guide.md': ALPHA_GUIDE,
    'alpha/dist/package.json': JSON.stringify({ type: 'module' }), // nameless stub: still alpha
    'alpha/dist/notes.md': `# Notes\n\n${filler('notes', 25)}\n`,
    'beta/package.json': packageJson('beta', '2.0.0'),
    'beta/README.md': BETA_README,
    // Same name@version as the top-level alpha: a duplicate install, must be skipped.
    'beta/node_modules/alpha/package.json': packageJson('alpha', '1.0.0'),
    'beta/node_modules/alpha/README.md': ALPHA_README,
    'beta/node_modules/delta/package.json': packageJson('delta', '3.1.0'),
    'beta/node_modules/delta/README.md': `# delta\n\n## Nested\n\n${filler('delta', 25)}\n`,
    '@scope/gamma/package.json': packageJson('@scope/gamma', '0.1.0'),
    '@scope/gamma/README.md': GAMMA_README,
    // Byte-identical to gamma's README under another package: dropped by content hash.
    'epsilon/package.json': packageJson('epsilon', '1.0.0'),
    'epsilon/README.md': GAMMA_README,
    'huge/package.json': packageJson('huge', '1.0.0'),
    'huge/README.md': `# Big\n\n${filler('big', 400)}\n`,
  })
  symlinkSync('..', path.join(nodeModules, 'alpha', 'loop'), 'dir') // points back at node_modules
  symlinkSync('.', path.join(nodeModules, 'beta', 'self'), 'dir')
  corpus = collectDemoCorpus(nodeModules)
})

afterAll(() => {
  if (tempDir) rmSync(tempDir, { recursive: true, force: true })
})

function docsFrom(source: string): DemoDoc[] {
  return corpus.filter((d) => d.source === source)
}

describe('collectDemoCorpus', () => {
  it('chunks a README by heading path, dropping short and license sections', () => {
    expect(docsFrom('alpha/README.md').map((d) => d.title)).toEqual([
      'alpha: Overview',
      'alpha: Install',
      'alpha: API > createSession',
      'alpha: Usage',
    ])
  })

  it('does not split on headings inside fenced code blocks', () => {
    const install = docsFrom('alpha/README.md').find((d) => d.title === 'alpha: Install')
    expect(install?.text).toContain('# not a heading npm install alpha')
    const guide = docsFrom('alpha/docs/guide.md')
    expect(guide.map((d) => d.title)).toEqual(['alpha: Guide'])
    expect(guide[0].text).toContain('### not a heading either')
    expect(corpus.some((d) => /not a heading/.test(d.title))).toBe(false)
  })

  it('drops long code blocks and markdown noise but keeps the words', () => {
    expect(corpus.some((d) => d.text.includes('LONGCODETOKEN'))).toBe(false)
    const overview = docsFrom('alpha/README.md')[0]
    expect(overview.text).toMatch(/^Alpha creates sessions with a link text and bold words and html markup\. intro0/)
    for (const noise of ['http', 'shields', '**', '<b>', '](', '[!']) expect(overview.text).not.toContain(noise)
    const createSession = docsFrom('alpha/README.md').find((d) => d.title.endsWith('createSession'))
    expect(createSession?.text).toMatch(/create19 Option Meaning ttl seconds before expiry$/)
  })

  it('splits long sections into near-equal numbered parts', () => {
    const parts = docsFrom('beta/README.md')
    expect(parts.map((d) => d.title)).toEqual(['beta: Long (part 1)', 'beta: Long (part 2)', 'beta: Long (part 3)'])
    expect(parts.map((d) => d._id)).toEqual([1, 2, 3].map((n) => `beta@2.0.0/README.md#long:part-${n}`))
    expect(parts.map((d) => d.text.split(' ').length)).toEqual([300, 300, 300])
    expect(parts.map((d) => d.text).join(' ')).toBe(filler('long', 900))
  })

  it('names scoped and nested packages from their package.json', () => {
    expect(docsFrom('@scope/gamma/README.md').map((d) => [d._id, d.title])).toEqual([
      ['@scope/gamma@0.1.0/README.md#intro', '@scope/gamma: Overview'],
    ])
    expect(docsFrom('beta/node_modules/delta/README.md').map((d) => d._id)).toEqual(['delta@3.1.0/README.md#nested'])
    // A nameless package.json in dist/ does not start a new package.
    expect(docsFrom('alpha/dist/notes.md').map((d) => [d._id, d.title])).toEqual([
      ['alpha@1.0.0/dist/notes.md#notes', 'alpha: Notes'],
    ])
  })

  it('skips changelogs, license files, duplicate packages, duplicate content and symlink loops', () => {
    const sources = new Set(corpus.map((d) => d.source))
    expect([...sources].sort()).toEqual([
      '@scope/gamma/README.md',
      'alpha/README.md',
      'alpha/dist/notes.md',
      'alpha/docs/guide.md',
      'beta/README.md',
      'beta/node_modules/delta/README.md',
      'huge/README.md',
    ])
  })

  it('gives unique ids and identical output on a second run', () => {
    expect(new Set(corpus.map((d) => d._id)).size).toBe(corpus.length)
    expect(collectDemoCorpus(nodeModules)).toEqual(corpus)
  })

  it('skips files over maxFileBytes', () => {
    const small = collectDemoCorpus(nodeModules, { maxFileBytes: 2000 })
    expect(small.some((d) => d.source === 'huge/README.md')).toBe(false)
    expect(small.some((d) => d.source === 'alpha/README.md')).toBe(true)
  })

  it('caps maxDocs round-robin across packages, keeping the original order', () => {
    const capped = collectDemoCorpus(nodeModules, { maxDocs: 4 })
    expect(capped).toHaveLength(4)
    const packages = capped.map((d) => d._id.slice(0, d._id.indexOf('@', 1)))
    expect(new Set(packages).size).toBe(4)
    const fullIndices = capped.map((d) => corpus.findIndex((c) => c._id === d._id))
    expect(fullIndices).toEqual([...fullIndices].sort((a, b) => a - b))
  })
})
