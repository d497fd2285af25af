/** A dependency-free SVG: grouped horizontal bars, one panel per figure docs/benchmark.md shows. */
export interface Panel {
  title: string
  unit: string
  /** Each row is one bar group; each series one bar in it. */
  rows: Array<{ label: string; values: Array<{ series: string; value: number }> }>
}

const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728']
const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;')

export function renderChart(title: string, subtitle: string, panels: Panel[]): string {
  const width = 900
  const labelWidth = 260
  const barHeight = 14
  const plotWidth = width - labelWidth - 120
  let y = 60
  const parts: string[] = [
    `<title>${xml(title)}</title>`,
    `<text x="20" y="28" font-size="18" font-weight="bold">${xml(title)}</text>`,
    `<text x="20" y="48" font-size="12" fill="#555">${xml(subtitle)}</text>`,
  ]
  for (const panel of panels) {
    y += 24
    parts.push(
      `<text x="20" y="${y}" font-size="14" font-weight="bold">${xml(panel.title)} (${xml(panel.unit)})</text>`,
    )
    const series = [...new Set(panel.rows.flatMap((r) => r.values.map((v) => v.series)))]
    parts.push(
      ...series.map(
        (name, i) =>
          `<rect x="${labelWidth + i * 120}" y="${y + 6}" width="10" height="10" fill="${colours[i % colours.length]}"/>` +
          `<text x="${labelWidth + i * 120 + 14}" y="${y + 15}" font-size="11">${xml(name)}</text>`,
      ),
    )
    y += 24
    const max = Math.max(...panel.rows.flatMap((r) => r.values.map((v) => v.value)), 1)
    for (const row of panel.rows) {
      parts.push(`<text x="20" y="${y + 11}" font-size="12">${xml(row.label)}</text>`)
      for (const value of row.values) {
        const i = series.indexOf(value.series)
        const w = Math.max(1, (value.value / max) * plotWidth)
        parts.push(
          `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight - 2}" fill="${colours[i % colours.length]}"/>`,
          `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + 10}" font-size="10">${value.value.toLocaleString('en-US')}</text>`,
        )
        y += barHeight
      }
      y += 6
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 20}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}
