export type Severity = 'ok' | 'warn' | 'fail'

/** One line of the doctor's report. */
export interface Finding {
  check: string
  severity: Severity
  detail: string
  /** What to do about it, for anything not ok. */
  hint?: string
  data?: unknown
}

/** A finding, leaving out `hint` and `data` when there are none (the JSON report stays terse). */
export const finding = (
  check: string,
  severity: Severity,
  detail: string,
  hint?: string,
  data?: unknown,
): Finding => ({
  check,
  severity,
  detail,
  ...(hint ? { hint } : {}),
  ...(data === undefined ? {} : { data }),
})
