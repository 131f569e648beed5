// Builds the embedded demo corpus from the Markdown documentation shipped inside installed
// packages (node_modules/**/README.md, docs/*.md, ...). It exists on any machine after
// `npm install`, so the demo needs no download. Node-only: runs on the build path.

import { createHash } from 'node:crypto'
import { type Dirent, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'

export interface DemoDoc {
  _id: string
  title: string
  text: string
  /** File path relative to nodeModulesDir, '/'-separated. */
  source: string
}

export interface DemoCorpusOptions {
  maxDocs?: number
  maxFileBytes?: number
}

const DEFAULT_MAX_DOCS = 5000
const DEFAULT_MAX_FILE_BYTES = 512 * 1024
/** Sections shorter than this are headings with a one-liner: too little to retrieve on. */
const MIN_WORDS = 20
/** Longer sections are split so each doc stays a focused passage. */
const MAX_WORDS = 400
/** Short code blocks read like prose examples; long ones are mostly identifiers and braces. */
const MAX_KEPT_CODE_LINES = 15
/** Deeper headings (####+) stay inside their parent section as plain text. */
const MAX_SPLIT_HEADING_LEVEL = 3

export function collectDemoCorpus(nodeModulesDir: string, opts: DemoCorpusOptions = {}): DemoDoc[] {
  const maxDocs = opts.maxDocs ?? DEFAULT_MAX_DOCS
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
  const files = findMarkdownFiles(nodeModulesDir, maxFileBytes)
  const docs = readUniqueFiles(files).flatMap(({ file, markdown }) => docsFromFile(file, markdown))
  makeIdsUnique(docs)
  return capAcrossPackages(docs, maxDocs)
}

// ---------------------------------------------------------------------------------------------
// Walking node_modules

interface PackageInfo {
  name: string
  version: string
  /** Absolute directory holding the package.json. */
  root: string
}

interface MarkdownFile {
  absPath: string
  /** Path relative to nodeModulesDir, '/'-separated: the sort key and `source`. */
  relPath: string
  pkg: PackageInfo
}

interface WalkState {
  rootDir: string
  maxFileBytes: number
  visitedRealDirs: Set<string>
  found: MarkdownFile[]
}

// Test fixtures carry fake READMEs; dot-dirs (.bin, .cache, .github, .vite) hold no package docs.
const SKIPPED_DIR_NAMES = new Set(['test', 'tests', '__tests__', 'fixtures', '__fixtures__', '__mocks__'])
const MARKDOWN_EXTENSION = /\.(md|markdown)$/i
// Changelogs, licences and policy boilerplate repeat across packages and carry no topical prose.
const NOISE_DOC_STEM =
  /^(change[-_]?log|changes|history|licen[cs]e([-_.].*)?|copying|notice|security|code[-_]of[-_]conduct)$/i

/** All candidate Markdown files under nodeModulesDir, sorted by relative path. */
function findMarkdownFiles(nodeModulesDir: string, maxFileBytes: number): MarkdownFile[] {
  const rootDir = path.resolve(nodeModulesDir)
  const state: WalkState = { rootDir, maxFileBytes, visitedRealDirs: new Set(), found: [] }
  walkDir(rootDir, realpathSync(rootDir), null, state)
  return state.found.sort((a, b) => compareStrings(a.relPath, b.relPath))
}

function walkDir(dir: string, realDir: string, enclosingPkg: PackageInfo | null, state: WalkState): void {
  // Keyed by real path: stops symlink loops and a second link to an already-walked package.
  if (state.visitedRealDirs.has(realDir)) return
  state.visitedRealDirs.add(realDir)
  const entries = readDirSorted(dir)
  const pkg = entries.some((e) => e.name === 'package.json') ? ownerPackage(enclosingPkg, dir) : enclosingPkg
  for (const entry of entries) {
    const entryPath = path.join(dir, entry.name)
    const kind = entryKind(entry, entryPath)
    if (kind === 'dir' && !isSkippedDir(entry.name)) {
      const childRealDir = entry.isSymbolicLink() ? safeRealpath(entryPath) : path.join(realDir, entry.name)
      if (childRealDir) walkDir(entryPath, childRealDir, pkg, state)
    } else if (kind === 'file' && pkg && isDocFile(entry.name)) {
      addIfSmallEnough(entryPath, pkg, state)
    }
  }
}

function readDirSorted(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareStrings(a.name, b.name))
  } catch {
    return [] // unreadable directory: nothing to index
  }
}

/** A dir/file classification that follows symlinks (broken links count as 'other'). */
function entryKind(entry: Dirent, entryPath: string): 'dir' | 'file' | 'other' {
  if (entry.isDirectory()) return 'dir'
  if (entry.isFile()) return 'file'
  if (!entry.isSymbolicLink()) return 'other'
  try {
    const target = statSync(entryPath)
    return target.isDirectory() ? 'dir' : target.isFile() ? 'file' : 'other'
  } catch {
    return 'other'
  }
}

function safeRealpath(p: string): string | null {
  try {
    return realpathSync(p)
  } catch {
    return null
  }
}

function isSkippedDir(name: string): boolean {
  // .pnpm is the one dot-dir that holds real packages (pnpm layout).
  return (name.startsWith('.') && name !== '.pnpm') || SKIPPED_DIR_NAMES.has(name.toLowerCase())
}

function isDocFile(name: string): boolean {
  return MARKDOWN_EXTENSION.test(name) && !NOISE_DOC_STEM.test(name.replace(MARKDOWN_EXTENSION, ''))
}

/**
 * The package owning files in `dir`: its own package.json if that names a package, else the enclosing
 * one. Nameless package.json files ({"type":"module"} stubs in dist/) and copies of the enclosing
 * package's manifest do not start a new package.
 */
function ownerPackage(enclosingPkg: PackageInfo | null, dir: string): PackageInfo | null {
  const own = readPackageInfo(dir)
  if (!own) return enclosingPkg
  if (enclosingPkg && packageKey(own) === packageKey(enclosingPkg)) return enclosingPkg
  return own
}

function readPackageInfo(dir: string): PackageInfo | null {
  try {
    const manifest: unknown = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
    if (typeof manifest !== 'object' || manifest === null) return null
    const { name, version } = manifest as { name?: unknown; version?: unknown }
    if (typeof name !== 'string' || name === '') return null
    return { name, version: typeof version === 'string' && version !== '' ? version : '0.0.0', root: dir }
  } catch {
    return null
  }
}

function addIfSmallEnough(absPath: string, pkg: PackageInfo, state: WalkState): void {
  try {
    if (statSync(absPath).size > state.maxFileBytes) return
  } catch {
    return
  }
  state.found.push({ absPath, relPath: toPosix(path.relative(state.rootDir, absPath)), pkg })
}

// ---------------------------------------------------------------------------------------------
// Deduplication

interface LoadedFile {
  file: MarkdownFile
  markdown: string
}

/**
 * Reads files in sorted order, skipping a package name@version already seen at another root
 * (hoisting leftovers, nested copies) and any byte-identical file (forks, symlinked files).
 */
function readUniqueFiles(files: MarkdownFile[]): LoadedFile[] {
  const rootByPackageKey = new Map<string, string>()
  const seenHashes = new Set<string>()
  const loaded: LoadedFile[] = []
  for (const file of files) {
    const key = packageKey(file.pkg)
    const claimedRoot = rootByPackageKey.get(key)
    if (claimedRoot !== undefined && claimedRoot !== file.pkg.root) continue
    rootByPackageKey.set(key, file.pkg.root)
    const bytes = readFileOrNull(file.absPath)
    if (!bytes) continue
    const hash = createHash('sha1').update(bytes).digest('hex')
    if (seenHashes.has(hash)) continue
    seenHashes.add(hash)
    loaded.push({ file, markdown: bytes.toString('utf8') })
  }
  return loaded
}

function readFileOrNull(p: string): Buffer | null {
  try {
    return readFileSync(p)
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown → sections

type BlockKind = 'prose' | 'code'

interface Block {
  kind: BlockKind
  lines: string[]
}

interface Section {
  /** Heading texts from the outermost (level 1) down to this section's own heading. */
  headings: string[]
  blocks: Block[]
}

interface Heading {
  level: number
  text: string
  /** Setext headings use the next line as underline, so the parser must skip it. */
  setext: boolean
}

interface Fence {
  char: string
  length: number
}

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/
// Lines that cannot be the text of a setext heading: indented code, list items, quotes, tables, HTML.
const NOT_SETEXT_TEXT = /^( {4}|\s*([-*+]\s|\d{1,9}[.)]\s|>|\||<))/
// Any indentation: fences nested in list items are commonly indented 4+ spaces.
const FENCE_OPEN = /^\s*(`{3,}|~{3,})(.*)$/
const FENCE_CLOSE = /^\s*(`{3,}|~{3,})\s*$/

function splitIntoSections(markdown: string): Section[] {
  const lines = withoutFrontMatter(markdown.split(/\r?\n/))
  const sections: Section[] = []
  const headingStack: Heading[] = []
  let current: Section = { headings: [], blocks: [] }
  let fence: Fence | null = null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (fence) {
      if (closesFence(line, fence)) fence = null
      else appendLine(current, 'code', line)
      continue
    }
    fence = openFence(line)
    if (fence) {
      current.blocks.push({ kind: 'code', lines: [] })
      continue
    }
    const heading = atxHeading(line) ?? setextHeading(line, lines[i + 1])
    if (heading?.setext) i++
    if (heading && heading.level <= MAX_SPLIT_HEADING_LEVEL) {
      sections.push(current)
      pushHeading(headingStack, heading)
      current = { headings: headingStack.map((h) => h.text), blocks: [] }
    } else {
      appendLine(current, 'prose', heading ? heading.text : line)
    }
  }
  sections.push(current)
  return sections
}

/** Drops a leading YAML front-matter block (`---` / key: value / `---`). */
function withoutFrontMatter(lines: string[]): string[] {
  if (lines[0]?.trim() !== '---' || !/^[\w-]+\s*:/.test(lines[1] ?? '')) return lines
  const end = lines.findIndex((line, i) => i > 0 && (line.trim() === '---' || line.trim() === '...'))
  return end > 0 ? lines.slice(end + 1) : lines
}

function openFence(line: string): Fence | null {
  const match = FENCE_OPEN.exec(line)
  if (!match) return null
  const marker = match[1]
  // A backtick fence's info string cannot contain backticks (otherwise it is inline code).
  if (marker[0] === '`' && match[2].includes('`')) return null
  return { char: marker[0], length: marker.length }
}

function closesFence(line: string, fence: Fence): boolean {
  const match = FENCE_CLOSE.exec(line)
  return match !== null && match[1][0] === fence.char && match[1].length >= fence.length
}

function atxHeading(line: string): Heading | null {
  const match = ATX_HEADING.exec(line)
  if (!match) return null
  return { level: match[1].length, text: cleanHeadingText(match[2] ?? ''), setext: false }
}

function setextHeading(line: string, nextLine: string | undefined): Heading | null {
  if (nextLine === undefined || line.trim() === '' || NOT_SETEXT_TEXT.test(line)) return null
  const match = SETEXT_UNDERLINE.exec(nextLine)
  if (!match) return null
  return { level: match[1][0] === '=' ? 1 : 2, text: cleanHeadingText(line), setext: true }
}

function pushHeading(stack: Heading[], heading: Heading): void {
  while (stack.length > 0 && stack[stack.length - 1].level >= heading.level) stack.pop()
  stack.push(heading)
}

function appendLine(section: Section, kind: BlockKind, line: string): void {
  const last = section.blocks[section.blocks.length - 1]
  if (last && last.kind === kind) last.lines.push(line)
  else section.blocks.push({ kind, lines: [line] })
}

// ---------------------------------------------------------------------------------------------
// Markdown noise reduction

const IMAGE = /!\[[^\]]*\]\((?:[^()]|\([^()]*\))*\)/g
// Full `![alt][ref]` and shortcut `![ref]` forms; applied after IMAGE has removed inline images.
const REFERENCE_IMAGE = /!\[[^\]]*\](?:\[[^\]]*\])?/g
// What is left of a linked badge `[![alt](img)](url)` once the image is gone.
const EMPTY_LINK = /\[\s*\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\]]*\])/g
const INLINE_LINK = /\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)/g
const REFERENCE_LINK = /\[([^\[\]]+)\]\[[^\[\]]*\]/g
const AUTOLINK = /<(?:https?|ftp|mailto):[^<>\s]*>/gi
const BARE_URL = /\b(?:https?|ftp):\/\/[^\s<>]+/gi
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g
// Whitelisted tag names so TypeScript generics in prose (Promise<string>) survive.
const HTML_TAG =
  /<\/?(?:a|abbr|article|aside|b|big|blockquote|br|button|caption|center|cite|code|col|colgroup|dd|del|details|div|dl|dt|em|embed|figcaption|figure|font|footer|h[1-6]|header|hr|i|iframe|img|input|ins|kbd|label|li|link|main|mark|meta|nav|object|ol|p|picture|pre|q|s|samp|section|small|source|span|strike|strong|sub|summary|sup|svg|table|tbody|td|tfoot|th|thead|time|tr|tt|u|ul|var|video|wbr)(?:\s[^<>]*)?\/?>/gi
const HTML_IMG_TAG = /<img\b[^<>]*>/gi
const ANCHOR_TAG = /<\/?a\b[^<>]*>/gi
const LINK_REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*\S+/
// Table separator rows (|---|:--:|), thematic breaks and stray setext underlines.
const PUNCTUATION_ONLY_LINE = /^[-=*_|:\s]*[-=*_][-=*_|:\s]*$/
const BLOCKQUOTE_MARKERS = /^\s*(>\s?)+/
const LIST_MARKER = /^\s*([-*+]|\d{1,9}[.)])\s+(\[[ xX]\]\s+)?/
const MINOR_HEADING_MARKERS = /^\s{0,3}#{1,6}\s+/
const INLINE_CODE = /(`+)([^`\n]|[^`\n][^\n]*?[^`\n])\1(?!`)/g
const BACKSLASH_ESCAPE = /\\([!-/:-@[-`{-~])/g
const LICENSE_HEADING = /^(licen[cs](e|ing)|copyright)\b/i
const PLACEHOLDER = /\uE000(\d+)\uE001/g

const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", mdash: '—', ndash: '–',
  hellip: '…', copy: '©', reg: '®', trade: '™', middot: '·', bull: '•', rarr: '→', larr: '←',
}

/** The section's prose as one whitespace-collapsed string. */
function sectionText(section: Section): string {
  const pieces = section.blocks.map((block) => (block.kind === 'code' ? codeBlockText(block.lines) : proseText(block.lines)))
  return collapseWhitespace(pieces.join(' '))
}

function codeBlockText(lines: string[]): string {
  return lines.length > MAX_KEPT_CODE_LINES ? '' : lines.join('\n')
}

function proseText(lines: string[]): string {
  const kept = lines.filter((line) => !isNoiseLine(line)).map(stripBlockMarkers)
  return cleanInlineMarkdown(kept.join('\n'))
}

function isNoiseLine(line: string): boolean {
  return (
    LINK_REFERENCE_DEFINITION.test(line) ||
    PUNCTUATION_ONLY_LINE.test(line) ||
    isBadgeLine(line)
  )
}

/** A line made only of (linked) images, e.g. a row of shields.io badges. */
function isBadgeLine(line: string): boolean {
  const withoutImages = line.replace(IMAGE, '').replace(REFERENCE_IMAGE, '').replace(HTML_IMG_TAG, '')
  if (withoutImages === line) return false
  return withoutImages.replace(EMPTY_LINK, '').replace(ANCHOR_TAG, '').trim() === ''
}

function stripBlockMarkers(line: string): string {
  return line.replace(BLOCKQUOTE_MARKERS, '').replace(LIST_MARKER, '').replace(MINOR_HEADING_MARKERS, '')
}

/**
 * Removes inline Markdown/HTML syntax, keeping the words. Code spans and backslash escapes are
 * swapped for placeholders first so emphasis, pipe and tag rules cannot mangle them.
 */
function cleanInlineMarkdown(text: string): string {
  const protectedTexts: string[] = []
  const protect = (s: string): string => `\uE000${protectedTexts.push(s) - 1}\uE001`
  const stripped = text
    .replace(INLINE_CODE, (_match, _ticks: string, code: string) => protect(code.trim()))
    .replace(BACKSLASH_ESCAPE, (_match, char: string) => protect(char))
    .replace(HTML_COMMENT, ' ')
    .replace(IMAGE, ' ')
    .replace(REFERENCE_IMAGE, ' ')
    .replace(INLINE_LINK, '$1')
    .replace(REFERENCE_LINK, '$1')
    .replace(AUTOLINK, ' ')
    .replace(HTML_TAG, ' ')
    .replace(BARE_URL, ' ')
  const plain = decodeEntities(stripEmphasis(stripped).replace(/\|/g, ' '))
  return plain.replace(PLACEHOLDER, (_match, index: string) => protectedTexts[Number(index)] ?? '')
}

function stripEmphasis(text: string): string {
  return text
    .replace(/\*\*(?=\S)([^\n]*?\S)\*\*/g, '$1')
    .replace(/(^|\W)__(?=\S)([^\n]*?\S)__(?!\w)/g, '$1$2')
    .replace(/(^|[^\w*])\*(?=[^\s*])([^*\n]*?[^\s*])?\*(?![\w*])/g, '$1$2')
    .replace(/(^|[^\w_])_(?=[^\s_])([^_\n]*?[^\s_])?_(?![\w_])/g, '$1$2')
    .replace(/~~(?=\S)([^\n]*?\S)~~/g, '$1')
    .replace(/\*\*/g, '') // bold spanning lines leaves unmatched markers
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, body: string) => {
    if (body[0] !== '#') return NAMED_ENTITIES[body.toLowerCase()] ?? match
    const codePoint = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10)
    return codePoint > 0 && codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : match
  })
}

function cleanHeadingText(raw: string): string {
  return collapseWhitespace(cleanInlineMarkdown(raw))
}

function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

// ---------------------------------------------------------------------------------------------
// Sections → docs

interface PackagedDoc {
  doc: DemoDoc
  packageKey: string
}

function docsFromFile(file: MarkdownFile, markdown: string): PackagedDoc[] {
  const pathInPackage = toPosix(path.relative(file.pkg.root, file.absPath))
  const idPrefix = `${packageKey(file.pkg)}/${pathInPackage}`
  const docs: PackagedDoc[] = []
  for (const section of splitIntoSections(markdown)) {
    const words = sectionText(section).split(' ').filter((w) => w !== '')
    if (words.length < MIN_WORDS || isLicenseSection(section)) continue
    const headings = displayHeadings(section.headings, file.pkg.name)
    const label = headings.join(' > ') || fallbackLabel(pathInPackage)
    const slug = headings.map(slugify).join('/') || 'intro'
    const parts = splitWords(words, MAX_WORDS)
    parts.forEach((partWords, i) => {
      const partSuffix = parts.length > 1 ? ` (part ${i + 1})` : ''
      docs.push({
        packageKey: packageKey(file.pkg),
        doc: {
          _id: `${idPrefix}#${slug}${parts.length > 1 ? `:part-${i + 1}` : ''}`,
          title: `${file.pkg.name}: ${label}${partSuffix}`,
          text: partWords.join(' '),
          source: file.relPath,
        },
      })
    })
  }
  return docs
}

/** README 'License' sections repeat MIT/BSD boilerplate, the same noise as LICENSE files. */
function isLicenseSection(section: Section): boolean {
  const ownHeading = section.headings[section.headings.length - 1] ?? ''
  return LICENSE_HEADING.test(ownHeading)
}

/** Heading path without empty headings and without a leading `# <package name>` (already in the title). */
function displayHeadings(headings: string[], packageName: string): string[] {
  const nonEmpty = headings.filter((h) => h !== '')
  return nonEmpty.length > 0 && namesPackage(nonEmpty[0], packageName) ? nonEmpty.slice(1) : nonEmpty
}

function namesPackage(heading: string, packageName: string): boolean {
  const normalize = (s: string): string => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '')
  const unscoped = packageName.replace(/^@[^/]+\//, '')
  const normalizedHeading = normalize(heading)
  return normalizedHeading === normalize(packageName) || normalizedHeading === normalize(unscoped)
}

/** Label for text before any heading: 'Overview' for a README, else the file's name. */
function fallbackLabel(pathInPackage: string): string {
  const stem = path.posix.basename(pathInPackage).replace(MARKDOWN_EXTENSION, '')
  return /^readme$/i.test(stem) ? 'Overview' : stem
}

function slugify(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '') || 'section'
}

/** Near-equal consecutive parts of at most maxWords words (no tiny trailing part). */
function splitWords(words: string[], maxWords: number): string[][] {
  const partCount = Math.ceil(words.length / maxWords)
  const partSize = Math.ceil(words.length / partCount)
  const parts: string[][] = []
  for (let start = 0; start < words.length; start += partSize) parts.push(words.slice(start, start + partSize))
  return parts
}

/** Appends ~2, ~3, ... to repeated ids (e.g. two '## Example' sections under one parent). */
function makeIdsUnique(docs: PackagedDoc[]): void {
  const usedIds = new Set<string>()
  for (const { doc } of docs) {
    let id = doc._id
    for (let n = 2; usedIds.has(id); n++) id = `${doc._id}~${n}`
    doc._id = id
    usedIds.add(id)
  }
}

/**
 * Keeps at most maxDocs docs, picked round-robin over packages so one huge README cannot crowd
 * out the rest; survivors keep their original (sorted) order.
 */
function capAcrossPackages(docs: PackagedDoc[], maxDocs: number): DemoDoc[] {
  if (docs.length <= maxDocs) return docs.map((d) => d.doc)
  const indicesByPackage = new Map<string, number[]>()
  docs.forEach((d, i) => {
    const indices = indicesByPackage.get(d.packageKey)
    if (indices) indices.push(i)
    else indicesByPackage.set(d.packageKey, [i])
  })
  const chosen = new Set<number>()
  for (let round = 0; chosen.size < maxDocs; round++) {
    for (const indices of indicesByPackage.values()) {
      if (round < indices.length) chosen.add(indices[round])
      if (chosen.size >= maxDocs) break
    }
  }
  return docs.filter((_d, i) => chosen.has(i)).map((d) => d.doc)
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function packageKey(pkg: PackageInfo): string {
  return `${pkg.name}@${pkg.version}`
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/')
}

/** Code-unit order: locale-independent, so every machine sorts the same way. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
