// "Did you mean …?" for typed names (commands, config keys): the candidate
// nearest by edit distance, if it is near enough to be the likely intent.

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours each cost 1. */
export const editDistance = (a: string, b: string): number => {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({length: rows}, (_, i) => Array.from({length: cols}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidate nearest to `input`, when the distance is at most a third of
 * the longer name (at least 1, at most 3): `stauts` → `status`,
 * `capture-id` → `capture_id`, but nothing for a name that resembles none.
 */
export const closestMatch = (input: string, candidates: Iterable<string>): string | undefined => {
  const needle = input.toLowerCase()
  let best: {name: string; distance: number} | undefined
  for (const name of candidates) {
    const distance = editDistance(needle, name.toLowerCase())
    const allowed = Math.min(3, Math.max(1, Math.floor(Math.max(needle.length, name.length) / 3)))
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = {name, distance}
  }
  return best?.name
}
