// The heap the CLI re-runs itself with (bin/heap.js): large builds need more than Node's default.
import { describe, expect, it } from 'vitest'
import { heapFlag, MAX_HEAP_MIB } from '../../bin/heap.js'

const GiB = 1024 ** 3
const nodeDefault = 4144 * 1048576 // Node 22's default limit on this 24 GiB machine

describe('the CLI heap flag', () => {
  it('asks for 3/4 of the machine\'s memory, at most 16 GiB', () => {
    expect(heapFlag({ execArgv: [], totalBytes: 12 * GiB, heapLimitBytes: nodeDefault })).toBe('--max-old-space-size=9216')
    expect(heapFlag({ execArgv: [], totalBytes: 24 * GiB, heapLimitBytes: nodeDefault })).toBe(`--max-old-space-size=${MAX_HEAP_MIB}`)
  })

  it('never lowers the default, nor asks for a few MiB more', () => {
    expect(heapFlag({ execArgv: [], totalBytes: 4 * GiB, heapLimitBytes: nodeDefault })).toBeUndefined()
    expect(heapFlag({ execArgv: [], totalBytes: 5.6 * GiB, heapLimitBytes: nodeDefault })).toBeUndefined()
  })

  it('leaves a size the caller chose, by flag or NODE_OPTIONS, and does not ask twice', () => {
    expect(heapFlag({ execArgv: ['--max-old-space-size=2048'], totalBytes: 24 * GiB, heapLimitBytes: 2048 * 1048576 })).toBeUndefined()
    expect(heapFlag({ execArgv: [], nodeOptions: '--enable-source-maps --max-old-space-size=3000', totalBytes: 24 * GiB, heapLimitBytes: 3000 * 1048576 })).toBeUndefined()
    expect(heapFlag({ execArgv: [], nodeOptions: '--enable-source-maps', totalBytes: 24 * GiB, heapLimitBytes: nodeDefault })).toBe(`--max-old-space-size=${MAX_HEAP_MIB}`)
  })
})
