/** Ready-to-paste curl commands for every endpoint; BOOK and ORDER are filled in by the shell. */
export function curlExamples(apiUrl: string): string {
  const json = "-H 'content-type: application/json'"
  return [
    `BOOK=$(curl -s -X POST ${apiUrl}/books ${json} -d '{"title":"Dune","author":"Frank Herbert","price":12.99,"stock":5}' | tee /dev/stderr | sed -E 's/.*"id":"([^"]+)".*/\\1/')`,
    `curl -s ${apiUrl}/books`,
    `curl -s ${apiUrl}/books/$BOOK`,
    `ORDER=$(curl -s -X POST ${apiUrl}/orders ${json} -H "idempotency-key: $(uuidgen 2>/dev/null || date +%s%N)" -d '{"customerId":"7d0b6c1e-4f7a-4c55-9a36-2f1c1f2b9c11","bookId":"'$BOOK'","quantity":2}' | tee /dev/stderr | sed -E 's/.*"id":"([^"]+)".*/\\1/')`,
    `curl -s ${apiUrl}/orders/$ORDER`,
    `curl -s -X DELETE ${apiUrl}/books/$BOOK`,
    `curl -s ${apiUrl}/health`,
  ]
    .map((line) => `  ${line}`)
    .join('\n')
}
