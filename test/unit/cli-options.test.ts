// Option parsers shared by `gdr build`, `gdr eval` and `gdr bench`.
import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { buildOverrides, encoderEpochs, encoderMode } from '../../scripts/cli-options.ts'

describe('build option parsers', () => {
  it('takes the three encoder modes and refuses anything else', () => {
    for (const mode of ['auto', 'lsa', 'trained']) expect(encoderMode(mode)).toBe(mode)
    expect(() => encoderMode('LSA')).toThrow(InvalidArgumentError)
  })

  it('refuses 0 encoder epochs with a pointer to --encoder lsa', () => {
    expect(encoderEpochs('2')).toBe(2)
    expect(() => encoderEpochs('0')).toThrow(/--encoder lsa/)
    expect(() => encoderEpochs('101')).toThrow(InvalidArgumentError)
  })

  it('passes the encoder mode through to the builds of eval and bench', () => {
    expect(buildOverrides({ encoder: 'lsa', seed: 3, port: 8830, epochs: undefined })).toEqual({ encoder: 'lsa', seed: 3 })
  })
})
