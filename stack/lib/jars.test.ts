import { describe, expect, it } from 'vitest'
import { formatBytes, parseDownloadedBytes } from './jars.ts'

describe('Maven download progress', () => {
  it('reads the size of each finished download from batch-mode output', () => {
    const base = 'Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/kafka'
    expect(
      parseDownloadedBytes(`[INFO] ${base}/kafka_2.13/4.3.1/kafka_2.13-4.3.1.jar (6.9 MB at 12 MB/s)`),
    ).toBe(6_900_000)
    expect(parseDownloadedBytes(`[INFO] ${base}/x.pom (26 kB at 45 kB/s)`)).toBe(26_000)
    expect(parseDownloadedBytes(`${base}/x.sha1 (40 B at 1 kB/s)`)).toBe(40)
  })

  it('ignores every other line', () => {
    expect(parseDownloadedBytes('[INFO] Downloading from central: https://repo/x.jar')).toBeUndefined()
    expect(parseDownloadedBytes('[INFO] BUILD SUCCESS')).toBeUndefined()
  })

  it('formats byte counts for people', () => {
    expect([formatBytes(512), formatBytes(26_000), formatBytes(61_234_567)]).toEqual([
      '512 B',
      '26 kB',
      '61.2 MB',
    ])
  })
})
