/**
 * True when a parsed JSON value nests deeper than `max` levels (the value
 * itself is level 1). Iterative, with an explicit stack: a body nested
 * thousands of levels deep must be refused before anything recursive
 * (JSON.stringify, a validator, a recursive walk) touches it, since those
 * overflow the Lambda main thread's stack. JSON.parse itself is iterative in V8.
 */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
