import { describe, expect, it } from 'vitest'
import { renderChart } from './chart.ts'

describe('benchmark chart', () => {
  it('draws one bar per value, scaled to the largest in its panel, with labels escaped', () => {
    const svg = renderChart('Title', 'a < b', [
      {
        title: 'Latency',
        unit: 'ms',
        rows: [
          {
            label: 'CDC',
            values: [
              { series: 'p50', value: 50 },
              { series: 'p99', value: 100 },
            ],
          },
          { label: 'Relay & co', values: [{ series: 'p50', value: 25 }] },
        ],
      },
    ])
    expect(svg).toMatch(/^<svg /)
    const widths = [...svg.matchAll(/<rect x="260" y="\d+" width="([\d.]+)" height="12"/g)].map((m) =>
      Number(m[1]),
    )
    expect(widths).toEqual([260, 520, 130])
    expect(svg).toContain('a &lt; b')
    expect(svg).toContain('Relay &amp; co')
  })
})
