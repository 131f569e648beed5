// Progress for long CLI steps: a cli-progress bar on a terminal, one line per
// stage elsewhere (CI logs, pipes). Everything goes to stderr so stdout stays
// clean for machine-readable output.

import cliProgress from 'cli-progress'

export interface Stage {
  /** `detail`: a short note shown after the bar (e.g. objects done). */
  tick(done: number, detail?: string): void
  done(summary?: string): void
}

export interface Reporter {
  stage(name: string, total: number, unit?: string): Stage
  log(message: string): void
  /** What the user must see even with --quiet (data being dropped): not progress. */
  warn(message: string): void
}

export function createReporter(quiet = false): Reporter {
  const interactive = Boolean(process.stderr.isTTY) && !quiet
  return {
    log: (message) => {
      if (!quiet) process.stderr.write(message + '\n')
    },
    warn: (message) => void process.stderr.write(message + '\n'),
    stage: (name, total, unit = 'items') => {
      const started = Date.now()
      const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`
      if (!interactive) {
        return {
          tick: () => {},
          done: (summary) => {
            if (!quiet) process.stderr.write(`${name}: ${summary ?? `${total} ${unit}`} (${elapsed()})\n`)
          },
        }
      }
      const bar = new cliProgress.SingleBar(
        { format: `${name.padEnd(12)} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | {duration_formatted} {detail}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
      bar.start(Math.max(total, 1), 0, { rate: '0', detail: '' })
      return {
        tick: (done, detail) => {
          const seconds = (Date.now() - started) / 1000
          bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toString() : '0', detail: detail ?? '' })
        },
        done: (summary) => {
          bar.update(Math.max(total, 1))
          bar.stop()
          if (summary) process.stderr.write(`${name}: ${summary} (${elapsed()})\n`)
        },
      }
    },
  }
}

/** Runs one stage of work and records its seconds under `stage`. */
export type StageTimer = <T>(stage: string, work: () => T | Promise<T>) => Promise<T>

/** Times the named stages of a long job: `timed(stage, work)` runs `work` and records its seconds. */
export function stageClock(): { seconds: Record<string, number>; timed: StageTimer } {
  const seconds: Record<string, number> = {}
  const timed: StageTimer = async (stage, work) => {
    const started = performance.now()
    try {
      return await work()
    } finally {
      seconds[stage] = (performance.now() - started) / 1000
    }
  }
  return { seconds, timed }
}
