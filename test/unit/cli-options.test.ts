// Option parsers shared by `gdr build`, `gdr eval` and `gdr bench`.
import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { buildOverrides, decimal, encoderEpochs, encoderMode, integer, randomSeed } from '../../scripts/cli-options.ts'
import { MAX_SEED } from '../../scripts/build/random.ts'
import { runGdr } from './run-gdr.ts'

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

describe('integer options', () => {
  it('take plain decimal digits only', () => {
    const n = integer(0, 100)
    expect(n('42')).toBe(42)
    expect(n('007')).toBe(7)
    for (const bad of ['', ' ', '0x10', '1e2', '+5', '-0', '4.0', ' 5', '5 ', '101']) expect(() => n(bad), bad).toThrow(InvalidArgumentError)
    expect(integer(-5, 5)('-3')).toBe(-3)
  })

  it('limit a seed to the 32 bits the random generator keeps', () => {
    expect(randomSeed(String(MAX_SEED))).toBe(2 ** 32 - 1)
    expect(() => randomSeed(String(2 ** 32))).toThrow(InvalidArgumentError)
  })

  it('hold --seed to 0..2^32 − 1 in build, eval and bench alike', async () => {
    for (const command of [['build', '--corpus', 'x.jsonl', '--out', 'y'], ['eval', '--data', 'x'], ['bench', '--corpus', 'x.jsonl']]) {
      const { code, stderr } = await runGdr([...command, '--seed', '4294967297'])
      expect(code, command[0]).toBe(2)
      expect(stderr).toMatch(/--seed.*expected an integer from 0 to 4294967295/)
    }
  })

  it('takes decimals in plain notation only, as the integers', () => {
    const share = decimal('a fraction in (0, 1]', (x) => x > 0 && x <= 1)
    expect(share('0.25')).toBe(0.25)
    expect(share('1')).toBe(1)
    for (const bad of ['', ' ', '.5', '5.', '0x1', '1e-1', '+0.5', '-0.5', '0', '1.5', 'NaN', 'Infinity']) expect(() => share(bad), JSON.stringify(bad)).toThrow(InvalidArgumentError)
  })

  it('refuses numbers in other notations in every command that takes them (eval, load)', async () => {
    for (const args of [['eval', '--data', 'x', '--alpha', ''], ['eval', '--data', 'x', '--budgets', '0.1,1e-1'], ['load', '--requests', '0x10'], ['load', '--rounds', '']]) {
      const { code, stderr } = await runGdr(args)
      expect(code, args.join(' ')).toBe(2)
      expect(stderr, args.join(' ')).toMatch(/expected (a|an) /)
    }
  })
})
