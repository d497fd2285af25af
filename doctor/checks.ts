import { type DoctorCheck, doctorChecks } from 'outbox-cdc'
import type { BookstoreTargets } from './config.ts'
import { freshnessCheck } from './freshness.ts'
import { sagaCheck } from './saga.ts'

/** The toolkit's checks, then the bookstore's own, end to end: is every write applied, does every order end. */
export const bookstoreChecks: readonly DoctorCheck<BookstoreTargets>[] = [
  ...doctorChecks,
  freshnessCheck,
  sagaCheck,
]
