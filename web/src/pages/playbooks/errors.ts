// The server's refusal of a playbook names lines: "playbook:93: moderation.ladder: …", one per
// line of its message (a TOML syntax error also names the column: "playbook:3:9: …").
export interface LineError { line: number; column?: number; message: string }

export function lineErrors(message: string): { lines: LineError[]; other: string[] } {
  const lines: LineError[] = [];
  const other: string[] = [];
  for (const text of message.split('\n')) {
    const m = /^[^:\s]*:(\d+)(?::(\d+))?: ?(.*)$/s.exec(text);
    if (m) lines.push({ line: Number(m[1]), column: m[2] ? Number(m[2]) : undefined, message: m[3] });
    else if (text.trim()) other.push(text);
  }
  return { lines, other };
}
