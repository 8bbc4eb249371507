/** Reading Prometheus text in tests. */

/**
 * Value of a sample without labels of its own, or of the sample whose labels contain
 * `labels`. Every sample also carries this node's `node` and `role` labels, left out here.
 */
export function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    // Label values may hold spaces (`route="POST /jobs"`): the value follows the last one.
    const cut = line.lastIndexOf(' ')
    const labelled = line.slice(0, cut)
    const value = line.slice(cut + 1)
    const key = labelled.replace(/,?node="[^"]*",role="[^"]*"/, '').replace('{}', '')
    const bare = key.split('{')[0]
    if (bare === name && (labels === '' ? !key.includes('{') || key === name : key.includes(labels))) return Number(value)
  }
  return undefined
}
