/** One sample of a Prometheus text page; 0 when the series does not exist (yet). */
export function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelPart = line.startsWith(`${name}{`)
      ? line.slice(name.length + 1, line.indexOf('}'))
      : '';
    const have = labelPart ? labelPart.split(',') : [];
    if (have.length === wanted.length && wanted.every((pair) => have.includes(pair))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}
